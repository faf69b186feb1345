package io.higgs4j.tokenizer;

import io.higgs4j.nn.Init;
import io.higgs4j.safetensors.SafetensorsCheckpoint;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.TorchException;
import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.*;

class HiggsAudioTokenizerTest {

    static Path resource(String name) throws Exception {
        return Path.of(HiggsAudioTokenizerTest.class.getResource("/audio-tokenizer/" + name).toURI());
    }

    /**
     * v2_state_dict.txt lists the reference HiggsAudioTokenizer's state dict for the released config, written by
     * scripts/parity/audio_tokenizer_reference.py (REF names) from the reference code; ours must be that list less the
     * training-only decoder_semantic, with the positional conv's parametrization names mapped to weight_g / weight_v.
     */
    @Test
    void parameterNamesAndShapesMatchTheReference() throws Exception {
        Map<String, String> expected = new TreeMap<>();
        for (String line : Files.readAllLines(resource("v2_state_dict.txt"))) {
            int space = line.indexOf(' ');
            String name = AudioTokenizerLoader.checkpointToModule(line.substring(0, space));
            if (name != null) expected.put(name, line.substring(space + 1));
        }
        assertEquals(602 - 14, expected.size(), "the 14 decoder_semantic entries are skipped");
        try (HiggsAudioTokenizer t = new HiggsAudioTokenizer(AudioTokenizerConfig.v2(), Init.meta())) {
            Map<String, String> ours = new TreeMap<>();
            t.namedParameters().forEach((n, p) -> ours.put(n, Arrays.toString(p.shape())));
            assertEquals(expected, ours);
        }
    }

    @Test
    void releasedConfigReadsAsV2() throws Exception {
        Path json = io.higgs4j.higgs.CheckpointNamesTestAccess.fixture().resolve("audio_tokenizer_config.json");
        Path dir = Files.createTempDirectory("tok");
        Files.copy(json, dir.resolve("config.json"));
        AudioTokenizerConfig c = AudioTokenizerConfig.load(dir);
        assertEquals(AudioTokenizerConfig.v2(), c);
        assertEquals(960, c.hopLength());
        assertEquals(25, c.frameRate());
        assertEquals(2, c.semanticDownsample());
        assertEquals(1024, c.quantizerDim());
    }

    /**
     * The tiny fixture: random weights and the reference tokenizer's outputs for 1.3 s of a test signal, computed by
     * the reference code (REF tiny) with transformers' HuBERT. Codes must agree exactly, the intermediates closely.
     */
    @Test
    void encodeAndDecodeAgreeWithTheReference() throws Exception {
        try (HiggsAudioTokenizer t = AudioTokenizerLoader.load(resource("tiny/model.safetensors"), AudioTokenizerConfig.tiny(), Device.CPU);
             SafetensorsCheckpoint ref = SafetensorsCheckpoint.open(resource("tiny/io.safetensors"));
             Scope s = Scope.open()) {
            assertEquals(33, ref.info("codes").shape()[1], "1.3 s at 25 Hz is ceil(32.5) frames");
            checkAgainstReference(t, ref);
        }
    }

    /**
     * The same check at the released widths (HuBERT-base, 64/1024-channel DAC, 1024-d RVQ) with random weights: run
     * {@code scripts/parity/audio_tokenizer_reference.py REF full DIR SECONDS} and set HIGGS4J_TOKENIZER_PARITY_DIR=DIR.
     */
    @Test
    void releasedWidthsAgreeWithTheReference() throws Exception {
        String dir = System.getenv("HIGGS4J_TOKENIZER_PARITY_DIR");
        org.junit.jupiter.api.Assumptions.assumeTrue(dir != null, "HIGGS4J_TOKENIZER_PARITY_DIR is not set");
        try (HiggsAudioTokenizer t = AudioTokenizerLoader.load(Path.of(dir), Device.CPU);
             SafetensorsCheckpoint ref = SafetensorsCheckpoint.open(Path.of(dir, "io.safetensors"));
             Scope s = Scope.open()) {
            assertEquals(AudioTokenizerConfig.v2(), t.config);
            checkAgainstReference(t, ref);
        }
    }

    /** HuBERT's averaged hidden states and the decoded audio within 2e-4 of the reference's scale; codes exactly. */
    private static void checkAgainstReference(HiggsAudioTokenizer t, SafetensorsCheckpoint ref) {
        Tensor input = ref.load("input");
        Tensor refCodes = ref.load("codes");
        Tensor x = input.view(1, input.size(0));
        Tensor semantic;
        try (var g = Torch.noGrad()) {
            semantic = t.semanticTarget(x).select(0, 0);
        }
        assertClose(ref.load("semantic"), semantic, 2e-4, "HuBERT's averaged hidden states");

        Tensor fused = t.fusedLatent(input);
        assertClose(ref.load("fused"), fused.select(0, 0).mT(), 2e-4, "fc_prior's output");

        Tensor codes = t.encode(input);
        assertArrayEquals(refCodes.shape(), codes.shape());
        long[] a = refCodes.toLongArray(), b = codes.toLongArray();
        int differ = 0;
        long frames = refCodes.size(1);
        for (int i = 0; i < a.length; i++) {
            if (a[i] == b[i]) continue;
            differ++;
            double gap = distanceGap(t, fused, refCodes, (int) (i / frames), i % frames, a[i], b[i]);
            assertTrue(gap < 1e-3, "code " + i + " (codebook " + i / frames + ", frame " + i % frames + "): reference " + a[i]
                    + ", ours " + b[i] + ", not a near tie: relative distance gap " + gap);
        }
        assertTrue(differ <= a.length / 100, differ + " of " + a.length + " codes differ from the reference (near ties only)");

        Tensor audio = t.decode(refCodes);
        assertEquals(refCodes.size(1) * 960, audio.size(0));
        assertClose(ref.load("decoded"), audio, 2e-4, "decoded audio");
    }

    /** The same weights as a torch.save state dict (model.pth, as the tokenizer is released) give the same codes. */
    @Test
    void theReleasedPthFormatLoadsTheSameWeights() throws Exception {
        try (HiggsAudioTokenizer t = AudioTokenizerLoader.load(resource("tiny/model.pth"), AudioTokenizerConfig.tiny(), Device.CPU);
             SafetensorsCheckpoint ref = SafetensorsCheckpoint.open(resource("tiny/io.safetensors"));
             Scope s = Scope.open()) {
            assertArrayEquals(ref.load("codes").toLongArray(), t.encode(ref.load("input")).toLongArray());
        }
    }

    /** The fixture's config.json describes the tiny geometry through higgs4j's optional width keys. */
    @Test
    void aTokenizerDirectoryLoadsWithItsConfig() throws Exception {
        Path dir = resource("tiny/config.json").getParent();
        assertEquals(AudioTokenizerConfig.tiny(), AudioTokenizerConfig.load(dir));
        try (HiggsAudioTokenizer t = AudioTokenizerLoader.load(dir, Device.CPU)) {
            assertEquals(AudioTokenizerConfig.tiny(), t.config);
        }
        Path empty = Files.createTempDirectory("tok");
        Files.copy(dir.resolve("config.json"), empty.resolve("config.json"));
        var e = assertThrows(java.io.IOException.class, () -> AudioTokenizerLoader.load(empty, Device.CPU));
        assertTrue(e.getMessage().contains("neither model.safetensors nor model.pth"), e.getMessage());
    }

    /**
     * Where a code differs, how far apart the two candidates are: the residual of layer k at frame t (the fused latent
     * less the reference codes' vectors of layers 0..k-1), projected, and its distances to both codebook vectors;
     * |d1 - d2| / max(d1, d2). Float rounding can only flip a choice when this is tiny.
     */
    private static double distanceGap(HiggsAudioTokenizer t, Tensor fused, Tensor refCodes, int k, long frame, long refCode, long ourCode) {
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            Tensor r = fused.select(2, frame).select(0, 0);
            for (int j = 0; j < k; j++) {
                Tensor idx = refCodes.select(0, j).narrow(0, frame, 1);
                r = r.sub(t.quantizer.vq.layers.get(j).decode(idx).select(0, 0));
            }
            var layer = t.quantizer.vq.layers.get(k);
            Tensor p = layer.projectIn.forward(r);
            Tensor e = layer.codebook.embed();
            double d1 = p.sub(e.select(0, refCode)).pow(2).sum().item(), d2 = p.sub(e.select(0, ourCode)).pow(2).sum().item();
            return Math.abs(d1 - d2) / Math.max(d1, d2);
        }
    }

    private static void assertClose(Tensor expected, Tensor actual, double tol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        double scale = 0, worst = 0;
        for (int i = 0; i < e.length; i++) {
            scale = Math.max(scale, Math.abs(e[i]));
            worst = Math.max(worst, Math.abs(e[i] - a[i]));
        }
        assertTrue(worst <= tol * Math.max(1, scale), what + ": max |diff| " + worst + " (scale " + scale + ")");
    }

    /**
     * The reference's frame count, from its convolution arithmetic: the acoustic encoder's strided convs (kernel 2s,
     * padding ceil(s / 2)) on n samples, or on n + 640 when that differs from the semantic count; the semantic count is
     * HuBERT's frames on ceil(2n / 3) + 320 samples at 16 kHz, every second one kept; T is the smaller.
     */
    static long referenceFrames(long n) {
        long sem = n * 2 / 3 + (n * 2 % 3 == 0 ? 0 : 1) + 320;
        int[] k = {10, 3, 3, 3, 3, 2, 2}, st = {5, 2, 2, 2, 2, 2, 2};
        for (int i = 0; i < k.length; i++) sem = (sem - k[i]) / st[i] + 1;
        sem = (sem + 1) / 2;
        long a = acousticFrames(n);
        if (a != sem) a = acousticFrames(n + 640);
        return Math.min(a, sem);
    }

    private static long acousticFrames(long len) {
        for (int s : new int[] {8, 5, 4, 2, 3}) len = Math.floorDiv(len + 2 * ((s + 1) / 2) - 2 * s, s) + 1;
        return len;
    }

    /**
     * T = ceil(seconds x 25) except where the audio ends 1 to 118 samples (up to 4.9 ms) into a frame: there the
     * reference's convolutions yield one frame less, and so do we.
     */
    @Test
    void codeCountIsCeilOfSecondsTimes25AndCodesAreInRange() {
        try (HiggsAudioTokenizer t = new HiggsAudioTokenizer(AudioTokenizerConfig.tiny(), Init.cpu(DType.FLOAT32)); Scope s = Scope.open()) {
            for (int n : new int[] {960, 961, 1078, 1079, 12000, 24000, 31200, 36000, 48123}) {
                Tensor codes = t.encode(Tensor.randn(n).mul(0.1));
                long ceil = (long) Math.ceil(n / 24000.0 * 25);
                long expectedT = n % 960 >= 1 && n % 960 <= 118 ? ceil - 1 : ceil;
                assertEquals(referenceFrames(n), expectedT, n + " samples: the reference's arithmetic");
                assertArrayEquals(new long[] {8, expectedT}, codes.shape(), n + " samples");
                assertTrue(codes.min().itemLong() >= 0 && codes.max().itemLong() < 16, "codes in [0, 16)");
                assertEquals(expectedT * 960, t.decode(codes).size(0));
            }
        }
    }

    @Test
    void badInputIsRejectedWithAMessage() {
        try (HiggsAudioTokenizer t = new HiggsAudioTokenizer(AudioTokenizerConfig.tiny(), Init.cpu(DType.FLOAT32)); Scope s = Scope.open()) {
            var e = assertThrows(TorchException.class, () -> t.encode(Tensor.zeros(500)));
            assertTrue(e.getMessage().contains("shorter than one code frame"), e.getMessage());
            e = assertThrows(TorchException.class, () -> t.decode(Tensor.of(new long[] {0, 16}, 1, 2)));
            assertTrue(e.getMessage().contains("[0, 16)"), e.getMessage());
            e = assertThrows(TorchException.class, () -> t.decode(Tensor.zeros(new long[] {9, 3}, DType.INT64, Device.CPU)));
            assertTrue(e.getMessage().contains("K <= 8"), e.getMessage());
        }
    }

    @Test
    void codebookEncodesItsOwnVectorsToTheirIndices() {
        try (HiggsAudioTokenizer t = new HiggsAudioTokenizer(AudioTokenizerConfig.tiny(), Init.cpu(DType.FLOAT32)); Scope s = Scope.open()) {
            var book = t.quantizer.vq.layers.get(0).codebook;
            Tensor idx = book.encode(book.embed());
            assertArrayEquals(Tensor.arange(16).toLongArray(), idx.toLongArray());
            assertArrayEquals(book.embed().toFloatArray(), book.decode(idx).toFloatArray(), "decode is exact");
        }
    }

    /**
     * Each layer's project_in is 4 rows of one 32 x 32 orthonormal matrix, its own rows (project_out the transpose, no
     * biases), so the layers see orthogonal subspaces: the sum of one codebook vector from each layer is quantised back
     * to exactly those codes, and decode(encode(decode(c))) equals decode(c).
     */
    @Test
    void residualQuantiserRecoversCodesOfItsOwnVectors() {
        int d = 32, k = 4, nQ = 8, bins = 16;
        try (ResidualVectorQuantizer rvq = new ResidualVectorQuantizer(d, k, nQ, bins, Init.cpu(DType.FLOAT32));
             Scope s = Scope.open(); var g = Torch.noGrad()) {
            java.util.Random r = new java.util.Random(3);
            double[][] w = new double[d][d];
            for (int i = 0; i < d; i++) {
                for (int j = 0; j < d; j++) w[i][j] = r.nextGaussian();
                for (int p = 0; p < i; p++) {
                    double dot = 0;
                    for (int j = 0; j < d; j++) dot += w[i][j] * w[p][j];
                    for (int j = 0; j < d; j++) w[i][j] -= dot * w[p][j];
                }
                double norm = 0;
                for (int j = 0; j < d; j++) norm += w[i][j] * w[i][j];
                for (int j = 0; j < d; j++) w[i][j] /= Math.sqrt(norm);
            }
            for (int layer = 0; layer < nQ; layer++) {
                float[] wf = new float[k * d];
                for (int i = 0; i < k; i++) for (int j = 0; j < d; j++) wf[i * d + j] = (float) w[layer * k + i][j];
                Tensor win = Tensor.of(wf, k, d);
                String p = "vq.layers." + layer + ".";
                rvq.setParameter(p + "project_in.weight", win);
                rvq.setParameter(p + "project_in.bias", Tensor.zeros(k));
                rvq.setParameter(p + "project_out.weight", win.mT().contiguous());
                rvq.setParameter(p + "project_out.bias", Tensor.zeros(d));
                rvq.setParameter(p + "_codebook.embed", Tensor.randn(bins, k));
            }
            long[] flat = new long[nQ * 40];
            for (int i = 0; i < flat.length; i++) flat[i] = r.nextInt(bins);
            Tensor codes = Tensor.of(flat, nQ, 1, 40);
            Tensor z = rvq.decode(codes);
            assertArrayEquals(new long[] {1, d, 40}, z.shape());
            Tensor again = rvq.encode(z, nQ);
            assertArrayEquals(flat, again.toLongArray());
            assertArrayEquals(z.toFloatArray(), rvq.decode(again).toFloatArray());
        }
    }

    @Test
    void sincResampleKeepsAnInBandToneAndHasTorchaudiosLength() {
        try (Scope s = Scope.open()) {
            int n = 24000;
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = (float) Math.sin(2 * Math.PI * 440 * i / 24000.0);
            Tensor y = SincResample.resample(Tensor.of(x, 1, n), 24000, 16000);
            assertArrayEquals(new long[] {1, 16000}, y.shape());
            float[] out = y.toFloatArray();
            double worst = 0;
            for (int j = 200; j < 15800; j++) worst = Math.max(worst, Math.abs(out[j] - Math.sin(2 * Math.PI * 440 * j / 16000.0)));
            assertTrue(worst < 2e-3, "max error away from the edges " + worst);
            assertEquals(Math.ceil(1001 * 2 / 3.0), SincResample.resample(Tensor.zeros(1, 1001), 24000, 16000).size(1));
        }
    }
}
