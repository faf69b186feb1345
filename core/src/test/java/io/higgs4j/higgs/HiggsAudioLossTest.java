package io.higgs4j.higgs;

import io.higgs4j.higgs.HiggsAudioLoss.AudioReduction;
import io.higgs4j.higgs.HiggsAudioLoss.Options;
import io.higgs4j.higgs.HiggsAudioLoss.Result;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class HiggsAudioLossTest {

    static final long X = -100;
    static final double TOL = 1e-4;

    // text: B=2, M=6, V=7; audio: N=7, K=2, C=5
    static final int B = 2, M = 6, V = 7, N = 7, K = 2, C = 5;

    /** Labels with ignored entries; position 0 of every row is never a target after the shift. */
    static final long[] LABELS = {
            3, 1, X, 6, 0, 2,
            X, 5, 4, X, X, 1,
    };
    /** Row 0 counts 6 targets (columns 1..6), row 1 counts 3, so the two codebooks average over different counts. */
    static final long[] AUDIO_LABELS = {
            X, 4, 0, 3, 3, 1, 2,
            X, X, 2, X, 4, X, 0,
    };

    static float[] randomLogits(long seed, int n) {
        Random rnd = new Random(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) (rnd.nextGaussian() * 2.0);
        return out;
    }

    // ------------------------------------------------------------------ plain-Java reference

    /** log-softmax by hand of logits[off .. off+n). */
    static double[] logSoftmax(float[] logits, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[off + i]);
        double z = 0;
        for (int i = 0; i < n; i++) z += Math.exp(logits[off + i] - max);
        double lse = max + Math.log(z);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = logits[off + i] - lse;
        return out;
    }

    /** Text loss with the shift: logits [B, M, V] at m vs labels [B, M] at m+1. grad (if not null) gets d(weight*loss). */
    static double textRef(float[] logits, long[] labels, double weight, double[] grad) {
        int count = 0;
        for (int b = 0; b < B; b++) for (int m = 0; m + 1 < M; m++) if (labels[b * M + m + 1] != X) count++;
        double sum = 0;
        for (int b = 0; b < B; b++) {
            for (int m = 0; m + 1 < M; m++) {
                long y = labels[b * M + m + 1];
                if (y == X) continue;
                int off = (b * M + m) * V;
                double[] ls = logSoftmax(logits, off, V);
                sum -= ls[(int) y];
                if (grad != null) {
                    for (int v = 0; v < V; v++) grad[off + v] += weight * (Math.exp(ls[v]) - (v == y ? 1 : 0)) / count;
                }
            }
        }
        return count == 0 ? 0 : sum / count;
    }

    /** Codebook k with the shift: logits [N, K, C] at (n, k) vs labels [K, N] at (k, n+1). */
    static double codebookRef(float[] logits, long[] labels, int k, double weight, double[] grad) {
        int count = 0;
        for (int n = 0; n + 1 < N; n++) if (labels[k * N + n + 1] != X) count++;
        double sum = 0;
        for (int n = 0; n + 1 < N; n++) {
            long y = labels[k * N + n + 1];
            if (y == X) continue;
            int off = (n * K + k) * C;
            double[] ls = logSoftmax(logits, off, C);
            sum -= ls[(int) y];
            if (grad != null) {
                for (int c = 0; c < C; c++) grad[off + c] += weight * (Math.exp(ls[c]) - (c == y ? 1 : 0)) / count;
            }
        }
        return count == 0 ? 0 : sum / count;
    }

    static void assertClose(double[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol, "element " + i);
        }
    }

    static void assertFinite(float[] a) {
        for (float f : a) assertTrue(Float.isFinite(f), "non-finite gradient " + f);
    }

    // ------------------------------------------------------------------ tests

    @Test
    void matchesPlainJavaCrossEntropyWithShiftAndGradients() {
        float[] text = randomLogits(1, B * M * V), audio = randomLogits(2, N * K * C);
        double tw = 0.5;
        double[] textGrad = new double[text.length], audioGrad = new double[audio.length];
        double textLoss = textRef(text, LABELS, tw, textGrad);
        double cb0 = codebookRef(audio, AUDIO_LABELS, 0, 1.0 / K, audioGrad);
        double cb1 = codebookRef(audio, AUDIO_LABELS, 1, 1.0 / K, audioGrad);
        double audioLoss = (cb0 + cb1) / K;

        try (Scope s = Scope.open()) {
            Tensor tl = Tensor.of(text, B, M, V).requiresGrad(true);
            Tensor al = Tensor.of(audio, N, K, C).requiresGrad(true);
            Result r = HiggsAudioLoss.compute(tl, Tensor.of(LABELS, B, M), al, Tensor.of(AUDIO_LABELS, K, N),
                    Options.defaults().withTextLossWeight(tw));
            for (Tensor t : new Tensor[] {r.total(), r.text(), r.audio()}) {
                assertEquals(DType.FLOAT32, t.dtype());
                assertEquals(0, t.dim());
            }
            assertEquals(DType.FLOAT32, r.codebookLosses().dtype());
            assertArrayEquals(new long[] {K}, r.codebookLosses().shape());

            assertEquals(textLoss, r.text().item(), TOL);
            assertClose(new double[] {cb0, cb1}, r.codebookLosses().toFloatArray(), TOL);
            assertNotEquals(cb0, cb1, 1e-3);
            assertEquals(audioLoss, r.audio().item(), TOL);
            assertEquals(tw * textLoss + audioLoss, r.total().item(), TOL);

            r.total().backward();
            float[] gt = tl.grad().toFloatArray(), ga = al.grad().toFloatArray();
            assertFinite(gt);
            assertFinite(ga);
            assertClose(textGrad, gt, 1e-5);
            assertClose(audioGrad, ga, 1e-5);
            // the shift never reads the logits at the last position (text) or the last row (audio)
            for (int b = 0; b < B; b++) for (int v = 0; v < V; v++) assertEquals(0f, gt[(b * M + M - 1) * V + v]);
            for (int i = (N - 1) * K * C; i < N * K * C; i++) assertEquals(0f, ga[i]);
            // a position whose next label is ignored gets no gradient either (row 0, position 1 -> label at 2 is -100)
            for (int v = 0; v < V; v++) assertEquals(0f, gt[(1) * V + v]);
        }
    }

    @Test
    void sumVersusMeanOverCodebooks() {
        float[] text = randomLogits(3, B * M * V), audio = randomLogits(4, N * K * C);
        double textLoss = textRef(text, LABELS, 1, null);
        double cb0 = codebookRef(audio, AUDIO_LABELS, 0, 1, null), cb1 = codebookRef(audio, AUDIO_LABELS, 1, 1, null);
        try (Scope s = Scope.open()) {
            Tensor tl = Tensor.of(text, B, M, V), lab = Tensor.of(LABELS, B, M);
            Tensor al = Tensor.of(audio, N, K, C), alab = Tensor.of(AUDIO_LABELS, K, N);
            Result mean = HiggsAudioLoss.compute(tl, lab, al, alab, Options.defaults());
            Result sum = HiggsAudioLoss.compute(tl, lab, al, alab, Options.defaults().withAudioReduction(AudioReduction.SUM));
            assertEquals((cb0 + cb1) / 2, mean.audio().item(), TOL);
            assertEquals(cb0 + cb1, sum.audio().item(), TOL);
            assertEquals(textLoss + (cb0 + cb1) / 2, mean.total().item(), TOL);
            assertEquals(textLoss + cb0 + cb1, sum.total().item(), TOL);
            assertEquals(mean.text().item(), sum.text().item(), 0);
            assertArrayEquals(mean.codebookLosses().toFloatArray(), sum.codebookLosses().toFloatArray());
            // the 4-argument overload uses the defaults
            assertEquals(mean.total().item(), HiggsAudioLoss.compute(tl, lab, al, alab).total().item(), 0);
        }
    }

    @Test
    void allIgnoredStreamsGiveZeroAndFiniteGradients() {
        float[] text = randomLogits(5, B * M * V), audio = randomLogits(6, N * K * C);
        long[] labels = new long[B * M];
        java.util.Arrays.fill(labels, X);
        labels[0] = 2;        // position 0 is never a target after the shift
        labels[M] = 4;
        long[] audioLabels = AUDIO_LABELS.clone();
        for (int n = 0; n < N; n++) audioLabels[N + n] = X;   // codebook 1 entirely ignored
        audioLabels[N] = 3;                                     // ... except its column 0, which the shift skips
        double cb0 = codebookRef(audio, audioLabels, 0, 1, null);
        try (Scope s = Scope.open()) {
            Tensor tl = Tensor.of(text, B, M, V).requiresGrad(true);
            Tensor al = Tensor.of(audio, N, K, C).requiresGrad(true);
            Result r = HiggsAudioLoss.compute(tl, Tensor.of(labels, B, M), al, Tensor.of(audioLabels, K, N), Options.defaults());
            assertEquals(0.0, r.text().item(), 0);
            assertClose(new double[] {cb0, 0}, r.codebookLosses().toFloatArray(), TOL);
            assertEquals(cb0 / 2, r.total().item(), TOL);
            r.total().backward();
            float[] gt = tl.grad().toFloatArray(), ga = al.grad().toFloatArray();
            assertFinite(gt);
            assertFinite(ga);
            for (float g : gt) assertEquals(0f, g);
            for (int n = 0; n < N; n++) for (int c = 0; c < C; c++) assertEquals(0f, ga[(n * K + 1) * C + c]);
        }
    }

    @Test
    void noAudioOutAndSingleStepEdges() {
        float[] text = randomLogits(7, B * M * V);
        double textLoss = textRef(text, LABELS, 1, null);
        try (Scope s = Scope.open()) {
            Tensor tl = Tensor.of(text, B, M, V).requiresGrad(true);
            Result r = HiggsAudioLoss.compute(tl, Tensor.of(LABELS, B, M), null, null, null);
            assertEquals(textLoss, r.text().item(), TOL);
            assertEquals(textLoss, r.total().item(), TOL);
            assertEquals(0.0, r.audio().item(), 0);
            assertEquals(0, r.audio().dim());
            assertArrayEquals(new long[] {0}, r.codebookLosses().shape());
            r.total().backward();
            assertFinite(tl.grad().toFloatArray());

            // M = 1 and N = 1: nothing is predicted, every stream is 0 and gradients are finite zeros
            Tensor one = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 1, 3).requiresGrad(true);
            Tensor aone = Tensor.of(new float[] {1, 2, 3, 4}, 1, 2, 2).requiresGrad(true);
            Result e = HiggsAudioLoss.compute(one, Tensor.of(new long[] {1, 2}, 2, 1), aone, Tensor.of(new long[] {1, 0}, 2, 1),
                    Options.defaults());
            assertEquals(0.0, e.total().item(), 0);
            assertArrayEquals(new float[] {0, 0}, e.codebookLosses().toFloatArray());
            e.total().backward();
            assertArrayEquals(new float[6], one.grad().toFloatArray());
            assertArrayEquals(new float[4], aone.grad().toFloatArray());
        }
    }

    @Test
    void bf16LogitsGiveFloat32Loss() {
        try (Scope s = Scope.open()) {
            Tensor tl = Tensor.of(randomLogits(8, B * M * V), B, M, V).to(DType.BFLOAT16).requiresGrad(true);
            Tensor al = Tensor.of(randomLogits(9, N * K * C), N, K, C).to(DType.BFLOAT16).requiresGrad(true);
            // the reference reads the bf16-rounded values, so the float32 computation should match closely
            float[] text = tl.toFloatArray(), audio = al.toFloatArray();
            double expectedText = textRef(text, LABELS, 1, null);
            double cb0 = codebookRef(audio, AUDIO_LABELS, 0, 1, null), cb1 = codebookRef(audio, AUDIO_LABELS, 1, 1, null);
            Result r = HiggsAudioLoss.compute(tl, Tensor.of(LABELS, B, M), al, Tensor.of(AUDIO_LABELS, K, N), Options.defaults());
            assertEquals(DType.FLOAT32, r.total().dtype());
            assertEquals(DType.FLOAT32, r.text().dtype());
            assertEquals(DType.FLOAT32, r.audio().dtype());
            assertEquals(DType.FLOAT32, r.codebookLosses().dtype());
            assertEquals(expectedText, r.text().item(), TOL);
            assertClose(new double[] {cb0, cb1}, r.codebookLosses().toFloatArray(), TOL);
            r.total().backward();
            assertEquals(DType.BFLOAT16, tl.grad().dtype());
            assertFinite(tl.grad().toFloatArray());
            assertFinite(al.grad().toFloatArray());
        }
    }

    @Test
    void resultsOutliveTheInternalScopeAndNothingLeaks() {
        long before = Tensor.liveCount();
        try (Scope s = Scope.open()) {
            Tensor tl = Tensor.of(randomLogits(10, B * M * V), B, M, V);
            Result r = HiggsAudioLoss.compute(tl, Tensor.of(LABELS, B, M), Tensor.of(randomLogits(11, N * K * C), N, K, C),
                    Tensor.of(AUDIO_LABELS, K, N), Options.defaults());
            assertFalse(r.total().isClosed());
            assertFalse(r.codebookLosses().isClosed());
            assertTrue(Double.isFinite(r.total().item()));
        }
        assertEquals(before, Tensor.liveCount());
    }

    @Test
    void invalidShapesAreRejected() {
        try (Scope s = Scope.open()) {
            Tensor tl = Tensor.zeros(B, M, V), lab = Tensor.of(LABELS, B, M);
            Tensor al = Tensor.zeros(N, K, C), alab = Tensor.of(AUDIO_LABELS, K, N);
            Options o = Options.defaults();
            assertMessage("int64", () -> HiggsAudioLoss.compute(tl, lab.to(DType.INT32), al, alab, o));
            assertMessage("do not match", () -> HiggsAudioLoss.compute(tl, lab.narrow(1, 0, M - 1), al, alab, o));
            assertMessage("do not match", () -> HiggsAudioLoss.compute(Tensor.zeros(1, M, V), lab, al, alab, o));
            assertMessage("[B, M, V]", () -> HiggsAudioLoss.compute(Tensor.zeros(B * M, V), lab, al, alab, o));
            assertMessage("codebooks", () -> HiggsAudioLoss.compute(tl, lab, Tensor.zeros(N, 3, C), alab, o));
            assertMessage("positions", () -> HiggsAudioLoss.compute(tl, lab, Tensor.zeros(N + 1, K, C), alab, o));
            assertMessage("audio labels must be int64", () -> HiggsAudioLoss.compute(tl, lab, al, alab.to(DType.INT32), o));
            assertMessage("together", () -> HiggsAudioLoss.compute(tl, lab, al, null, o));
            assertMessage("together", () -> HiggsAudioLoss.compute(tl, lab, null, alab, o));
            assertMessage("[N, K, C]", () -> HiggsAudioLoss.compute(tl, lab, Tensor.zeros(N, K * C), alab, o));
            assertThrows(IllegalArgumentException.class, () -> new Options(Double.NaN, AudioReduction.MEAN));
        }
    }

    static void assertMessage(String fragment, org.junit.jupiter.api.function.Executable body) {
        DelayPatternTest.assertMessage(fragment, body);
    }

    @Test
    void sumsAddUpToTheLossesAndCountTheTop1Hits() {
        try (io.higgs4j.torch.Scope s = io.higgs4j.torch.Scope.open()) {
            io.higgs4j.torch.Torch.manualSeed(11);
            int b = 2, m = 6, v = 7, n = 9, k = 3, c = 5;
            Tensor text = Tensor.randn(b, m, v), audio = Tensor.randn(n, k, c);
            java.util.Random r = new java.util.Random(4);
            long[] labels = new long[b * m], audioLabels = new long[k * n];
            for (int i = 0; i < labels.length; i++) labels[i] = r.nextInt(3) == 0 ? -100 : r.nextInt(v);
            for (int i = 0; i < audioLabels.length; i++) audioLabels[i] = r.nextInt(4) == 0 ? -100 : r.nextInt(c);
            Tensor lt = Tensor.of(labels, b, m), la = Tensor.of(audioLabels, k, n);
            HiggsAudioLoss.Result loss = HiggsAudioLoss.compute(text, lt, audio, la);
            double[] sums = HiggsAudioLoss.sums(text, lt, audio, la, k).toDoubleArray();
            assertEquals(2 + 3 * k, sums.length);
            assertEquals(loss.text().item(), sums[0] / sums[1], 1e-5);
            float[] cb = loss.codebookLosses().toFloatArray();
            float[] a = audio.toFloatArray();
            for (int q = 0; q < k; q++) {
                assertEquals(cb[q], sums[2 + q] / sums[2 + k + q], 1e-5, "codebook " + q);
                // By hand: row t-1's argmax over codebook q's classes against label column t.
                int count = 0, hits = 0;
                for (int t = 1; t < n; t++) {
                    long y = audioLabels[q * n + t];
                    if (y == -100) continue;
                    count++;
                    int best = 0;
                    for (int j = 1; j < c; j++) if (a[((t - 1) * k + q) * c + j] > a[((t - 1) * k + q) * c + best]) best = j;
                    if (best == y) hits++;
                }
                assertEquals(count, sums[2 + k + q], "codebook " + q + " count");
                assertEquals(hits, sums[2 + 2 * k + q], "codebook " + q + " hits");
            }
            long textCount = 0;
            for (int row = 0; row < b; row++) for (int t = 1; t < m; t++) if (labels[row * m + t] != -100) textCount++;
            assertEquals(textCount, sums[1]);
            double[] none = HiggsAudioLoss.sums(text, lt, null, null, k).toDoubleArray();
            assertEquals(sums[0], none[0]);
            for (int i = 2; i < none.length; i++) assertEquals(0.0, none[i]);
        }
    }
}
