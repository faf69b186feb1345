package io.higgs4j.audio;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static io.higgs4j.audio.WhisperFeatureExtractor.*;
import static org.junit.jupiter.api.Assertions.*;

class WhisperFeatureExtractorTest {

    /**
     * An independent double-precision computation of one 30 s chunk's features: zero padding to 480000, reflect
     * padding by 200, a naive DFT of each frame with the periodic Hann window, the Slaney filter bank, log10 of
     * max(mel, 1e-10), the max - 8 floor and (x + 4) / 4. Returns [nMels][3000].
     */
    static double[][] reference(float[] audio, int nMels) {
        int n = CHUNK_SAMPLES;
        double[] x = new double[n];
        for (int i = 0; i < Math.min(n, audio.length); i++) x[i] = audio[i];
        double[] w = new double[N_FFT];
        for (int j = 0; j < N_FFT; j++) w[j] = 0.5 - 0.5 * Math.cos(2 * Math.PI * j / N_FFT);
        double[] cos = new double[N_FFT], sin = new double[N_FFT];
        for (int j = 0; j < N_FFT; j++) {
            cos[j] = Math.cos(2 * Math.PI * j / N_FFT);
            sin[j] = Math.sin(2 * Math.PI * j / N_FFT);
        }
        double[][] fb = melFilterBank(nMels, N_FREQS, 0, 8000, SAMPLE_RATE);
        double[][] logSpec = new double[nMels][CHUNK_FRAMES];
        double max = Double.NEGATIVE_INFINITY;
        double[] frame = new double[N_FFT];
        double[] power = new double[N_FREQS];
        for (int t = 0; t < CHUNK_FRAMES; t++) {
            boolean zero = true;
            for (int j = 0; j < N_FFT; j++) {
                int i = t * HOP_LENGTH - N_FFT / 2 + j;
                if (i < 0) i = -i;
                if (i >= n) i = 2 * (n - 1) - i;
                frame[j] = x[i] * w[j];
                zero &= frame[j] == 0;
            }
            for (int k = 0; k < N_FREQS; k++) {
                double re = 0, im = 0;
                if (!zero) {
                    for (int j = 0; j < N_FFT; j++) {
                        int p = (j * k) % N_FFT;
                        re += frame[j] * cos[p];
                        im -= frame[j] * sin[p];
                    }
                }
                power[k] = re * re + im * im;
            }
            for (int m = 0; m < nMels; m++) {
                double mel = 0;
                for (int k = 0; k < N_FREQS; k++) mel += fb[m][k] * power[k];
                logSpec[m][t] = Math.log10(Math.max(mel, 1e-10));
                max = Math.max(max, logSpec[m][t]);
            }
        }
        for (double[] row : logSpec) for (int t = 0; t < row.length; t++) row[t] = (Math.max(row[t], max - 8) + 4) / 4;
        return logSpec;
    }

    static double maxDiff(float[] got, double[][] want) {
        double d = 0;
        int frames = want[0].length;
        for (int m = 0; m < want.length; m++) {
            for (int t = 0; t < frames; t++) d = Math.max(d, Math.abs(got[m * frames + t] - want[m][t]));
        }
        return d;
    }

    @Test
    void randomSignalMatchesTheDoublePrecisionReference() {
        Random r = new Random(7);
        float[] x = new float[4321];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * 0.2);
        for (int nMels : new int[] {80, 128}) {
            try (Scope s = Scope.open()) {
                Features f = new WhisperFeatureExtractor(nMels).extract(x);
                assertArrayEquals(new long[] {1, nMels, CHUNK_FRAMES}, f.features().shape());
                double d = maxDiff(f.features().toFloatArray(), reference(x, nMels));
                assertTrue(d < 1e-3, nMels + " mels: max diff " + d);
            }
        }
    }

    @Test
    void chirpMatchesTheDoublePrecisionReference() {
        float[] x = new float[SAMPLE_RATE];
        double f0 = 100, f1 = 7000, seconds = 1.0;
        for (int i = 0; i < x.length; i++) {
            double t = i / (double) SAMPLE_RATE;
            x[i] = (float) (0.5 * Math.sin(2 * Math.PI * (f0 * t + (f1 - f0) * t * t / (2 * seconds))));
        }
        try (Scope s = Scope.open()) {
            Features f = new WhisperFeatureExtractor(128).extract(x);
            double d = maxDiff(f.features().toFloatArray(), reference(x, 128));
            assertTrue(d < 1e-3, "chirp: max diff " + d);
            assertArrayEquals(new int[] {100}, f.frames());
        }
    }

    @Test
    void pureTonePeaksInTheBandWithTheNearestCentre() {
        for (int nMels : new int[] {80, 128}) {
            WhisperFeatureExtractor fe = new WhisperFeatureExtractor(nMels);
            double[] edges = melEdges(nMels, 0, 8000);
            // From 1 kHz up, where bands are wider than the 40 Hz FFT bins (below, with 128 bands about 23 Hz apart,
            // which band catches the tone depends on how it falls between two FFT bins).
            for (double hz : new double[] {1000, 1730, 2500, 4000, 6100}) {
                float[] x = new float[8000];
                for (int i = 0; i < x.length; i++) x[i] = (float) (0.5 * Math.sin(2 * Math.PI * hz * i / SAMPLE_RATE));
                int nearest = 0;
                for (int m = 1; m < nMels; m++) {
                    if (Math.abs(edges[m + 1] - hz) < Math.abs(edges[nearest + 1] - hz)) nearest = m;
                }
                try (Scope s = Scope.open()) {
                    Tensor frame = fe.extract(x).features().select(0, 0).select(1, 25); // a frame well inside
                    assertEquals(nearest, frame.argmax().itemLong(), nMels + " mels, " + hz + " Hz");
                }
            }
        }
    }

    @Test
    void silenceIsTheFloorEverywhere() {
        try (Scope s = Scope.open()) {
            Features f = new WhisperFeatureExtractor(80).extract(new float[16000]);
            for (float v : f.features().toFloatArray()) assertEquals(-1.5f, v);
            assertArrayEquals(new int[] {100}, f.frames());
        }
    }

    @Test
    void longAudioIsChunkedWithMasksOverRealFrames() {
        long before = Tensor.liveCount();
        try (Scope s = Scope.open()) {
            float[] x = new float[45 * SAMPLE_RATE];
            Random r = new Random(1);
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * 0.1);
            Features f = new WhisperFeatureExtractor(128).extract(x);
            assertEquals(2, f.chunks());
            assertArrayEquals(new long[] {2, 128, CHUNK_FRAMES}, f.features().shape());
            assertArrayEquals(new long[] {2, CHUNK_FRAMES}, f.mask().shape());
            assertArrayEquals(new int[] {3000, 1500}, f.frames());
            long[] mask = f.mask().toLongArray();
            for (int c = 0; c < 2; c++) {
                long sum = 0;
                for (int t = 0; t < CHUNK_FRAMES; t++) sum += mask[c * CHUNK_FRAMES + t];
                assertEquals(f.frames()[c], sum);
                for (int t = 0; t < CHUNK_FRAMES; t++) assertEquals(t < f.frames()[c] ? 1 : 0, mask[c * CHUNK_FRAMES + t]);
            }
            // The second chunk is computed alone: its features equal those of its own samples.
            float[] second = java.util.Arrays.copyOfRange(x, CHUNK_SAMPLES, x.length);
            float[] alone = new WhisperFeatureExtractor(128).extract(second).features().toFloatArray();
            float[] got = f.features().select(0, 1).contiguous().toFloatArray();
            for (int i = 0; i < got.length; i++) assertEquals(alone[i], got[i], 1e-5);
        }
        assertEquals(before, Tensor.liveCount(), "every tensor freed with the scope");
    }

    @Test
    void chunkBoundaries() {
        WhisperFeatureExtractor fe = new WhisperFeatureExtractor(80);
        try (Scope s = Scope.open()) {
            assertArrayEquals(new int[] {3000}, fe.extract(new float[CHUNK_SAMPLES]).frames());
            assertArrayEquals(new int[] {3000, 1}, fe.extract(new float[CHUNK_SAMPLES + 1]).frames());
            assertArrayEquals(new int[] {0}, fe.extract(new float[0]).frames());
            assertArrayEquals(new int[] {2}, fe.extract(new float[161]).frames());
            Features at8k = fe.extract(new Audio(new float[8000], 8000)); // resampled to 16 kHz first
            assertArrayEquals(new int[] {100}, at8k.frames());
        }
    }

    @Test
    void stftResultsAreComplex64() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 8);
            Tensor spec = io.higgs4j.torch.Aten.callTensor("aten::stft", "", x, 4L, io.higgs4j.torch.Aten.some(2L),
                    io.higgs4j.torch.Aten.NONE, io.higgs4j.torch.Aten.NONE, false, io.higgs4j.torch.Aten.some(true),
                    io.higgs4j.torch.Aten.some(true), io.higgs4j.torch.Aten.NONE);
            assertEquals(io.higgs4j.torch.DType.COMPLEX64, spec.dtype());
            assertArrayEquals(new long[] {3, 3}, spec.shape());
            Tensor ri = io.higgs4j.torch.Aten.callTensor("aten::view_as_real", "", spec);
            assertArrayEquals(new long[] {3, 3, 2}, ri.shape());
            // Frame 0 = [1, 2, 3, 4] under a rectangular window: DC 10, bin 1 = -2 + 2i, bin 2 = -2.
            float[] v = ri.contiguous().toFloatArray();
            assertEquals(10f, v[0]);
            assertEquals(-2f, v[6], 1e-6);
            assertEquals(2f, v[7], 1e-6);
            assertEquals(-2f, v[12], 1e-6);
            assertEquals(io.higgs4j.torch.DType.COMPLEX64, io.higgs4j.torch.DType.parse("complex64"));
            assertEquals(8, io.higgs4j.torch.DType.COMPLEX64.elementSize());
            assertFalse(io.higgs4j.torch.DType.COMPLEX64.isFloatingPoint());
        }
    }

    @Test
    void slaneyFilterBank() {
        assertEquals(15.0, hzToMel(1000), 1e-12);
        assertEquals(1000.0, melToHz(15.0), 1e-9);
        assertEquals(7.5, hzToMel(500), 1e-12);
        assertEquals(4000.0, melToHz(hzToMel(4000)), 1e-9);
        for (int nMels : new int[] {80, 128}) {
            double[][] fb = melFilterBank(nMels, N_FREQS, 0, 8000, SAMPLE_RATE);
            double[] edges = melEdges(nMels, 0, 8000);
            assertEquals(0, edges[0]);
            assertEquals(8000, edges[nMels + 1], 1e-9);
            double binHz = SAMPLE_RATE / (double) N_FFT;
            for (int m = 0; m < nMels; m++) {
                double sum = 0;
                for (double v : fb[m]) { assertTrue(v >= 0); sum += v; }
                // Slaney normalisation: each triangle has unit area in Hz; a wide one's bins add up to that.
                if (edges[m + 2] - edges[m] > 8 * binHz) assertEquals(1.0, sum * binHz, 0.05, "band " + m);
            }
        }
    }
}
