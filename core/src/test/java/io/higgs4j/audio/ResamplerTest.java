package io.higgs4j.audio;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class ResamplerTest {

    static float[] sine(double hz, int rate, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) Math.sin(2 * Math.PI * hz * i / rate + 0.3);
        return x;
    }

    /** Max abs error against the analytic sine at the new rate, at least margin output samples from either end. */
    static double maxError(double hz, int from, int to) {
        int n = from / 2; // half a second
        float[] y = Resampler.resample(sine(hz, from, n), from, to);
        assertEquals((long) Math.ceil(n * (double) to / from), y.length);
        int margin = (int) Math.ceil(Resampler.ZERO_CROSSINGS / Resampler.ROLLOFF * to / Math.min(from, to)) + 2;
        double max = 0;
        for (int i = margin; i < y.length - margin; i++) {
            max = Math.max(max, Math.abs(y[i] - Math.sin(2 * Math.PI * hz * i / to + 0.3)));
        }
        return max;
    }

    @Test
    void inBandSinesMatchTheAnalyticSineWithinTheBound() {
        for (int from : new int[] {44100, 48000, 22050}) {
            for (double hz : new double[] {440, 3000, 6000}) {
                double e = maxError(hz, from, 16000);
                assertTrue(e < Resampler.ERROR_BOUND, from + " Hz -> 16 kHz, " + hz + " Hz tone: max error " + e);
            }
        }
        for (double hz : new double[] {440, 3000, 6000}) {
            double e = maxError(hz, 16000, 24000);
            assertTrue(e < Resampler.ERROR_BOUND, "16 -> 24 kHz, " + hz + " Hz tone: max error " + e);
        }
    }

    @Test
    void equalRatesReturnACopy() {
        float[] x = sine(100, 16000, 50);
        float[] y = Resampler.resample(x, 16000, 16000);
        assertNotSame(x, y);
        assertArrayEquals(x, y);
    }

    @Test
    void toneAboveTheNewNyquistIsAttenuatedBy40dB() {
        float[] y = Resampler.resample(sine(9000, 48000, 24000), 48000, 16000);
        double sq = 0;
        int count = 0;
        for (int i = 200; i < y.length - 200; i++, count++) sq += y[i] * y[i];
        double rms = Math.sqrt(sq / count);
        double db = 20 * Math.log10(rms / Math.sqrt(0.5));
        assertTrue(db < -40, "9 kHz at 48k -> 16k: " + db + " dB");
    }

    @Test
    void oddRatiosAndEmptyInput() {
        assertEquals(0, Resampler.resample(new float[0], 44100, 16000).length);
        float[] dc = new float[2000];
        java.util.Arrays.fill(dc, 0.5f);
        float[] y = Resampler.resample(dc, 44100, 16001); // 16001 phases: computed per sample, not cached
        for (int i = 300; i < y.length - 300; i++) assertEquals(0.5, y[i], 1e-5);
        assertThrows(IllegalArgumentException.class, () -> new Resampler(0, 16000));
    }

    /** A header claiming 1 Hz would make a few KB into hours of 24 kHz audio: ratios over MAX_RATIO are refused. */
    @Test
    void extremeRatiosAreRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> new Resampler(1, 24000));
        assertEquals("cannot resample 1 Hz to 24000 Hz: the ratio is over 256 either way", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Resampler(24000 * 257, 24000));
        assertEquals(256, new Resampler(100, 256 * 100).outputLength(1), "a ratio of 256 is still allowed");
    }
}
