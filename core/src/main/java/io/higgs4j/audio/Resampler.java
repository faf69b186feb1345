package io.higgs4j.audio;


/**
 * Band-limited sample-rate conversion by a Kaiser-windowed sinc, evaluated in double precision on float arrays.
 *
 * <p>Output sample n is the input at time n * from / to (in input samples), interpolated by the low-pass kernel
 * {@code h(d) = 2fc sinc(2fc d) kaiser(d / W)} with cutoff {@code fc = 0.9 * min(from, to) / 2} Hz (expressed per
 * input sample), {@value #ZERO_CROSSINGS} zero crossings of the sinc on each side ({@code W} input samples) and
 * Kaiser beta {@value #BETA} (about 80 dB of stop-band attenuation). Each of the {@code to / gcd(from, to)} kernel
 * phases is normalised to unit DC gain and, when there are at most {@value #MAX_CACHED_PHASES} of them, computed
 * once. Samples outside the input count as zero. The output has {@code ceil(n * to / from)} samples; equal rates
 * return a copy.
 *
 * <p><b>Error bound.</b> For a sinusoid of amplitude at most 1 whose frequency is at most 0.75 of the lower of the
 * two Nyquist frequencies, the output differs from the same sinusoid sampled at the new rate by at most
 * {@value #ERROR_BOUND} (absolute), at output samples whose kernel lies wholly inside the input (more than
 * {@code W} input samples from either end). Measured (float32 output): at most 4.2e-5 for 440 Hz, 3 kHz and 6 kHz
 * tones from 22.05, 44.1 and 48 kHz to 16 kHz (under 3e-7 at 440 Hz), which the bound covers with a factor of two. The transition band lies between about 0.83 and 0.97 of the lower Nyquist
 * frequency: content above the new Nyquist frequency is attenuated by at least 40 dB (about 80 dB beyond 0.97).
 */
public final class Resampler {

    /** The stated maximum absolute error for in-band sinusoids of amplitude 1 away from the edges. */
    public static final double ERROR_BOUND = 1e-4;
    /** Cutoff as a fraction of the lower Nyquist frequency. */
    public static final double ROLLOFF = 0.9;
    public static final int ZERO_CROSSINGS = 32;
    /** The largest ratio of the two rates, either way (768 kHz to 8 kHz is 96). */
    public static final int MAX_RATIO = 256;
    public static final double BETA = 8.0;
    static final int MAX_CACHED_PHASES = 4096;

    private final int from;
    private final int to;
    private final long num;   // from / g
    private final long den;   // to / g: number of phases
    private final double twoFc; // 2 * cutoff in cycles per input sample
    private final double halfWidth; // W, input samples
    private final int reach;  // taps on each side considered: offsets -reach+1 .. reach
    private final double[][] phases;

    public Resampler(int fromRate, int toRate) {
        if (fromRate <= 0 || toRate <= 0) throw new IllegalArgumentException("sample rates must be positive: " + fromRate + " -> " + toRate);
        // Each output sample costs about 64 / min(1, to/from) taps and the output is to/from times the input: beyond a
        // ratio of MAX_RATIO either way the work (or the output) is out of proportion to the input.
        if ((long) toRate > (long) fromRate * MAX_RATIO || (long) fromRate > (long) toRate * MAX_RATIO) {
            throw new IllegalArgumentException("cannot resample " + fromRate + " Hz to " + toRate + " Hz: the ratio is over "
                    + MAX_RATIO + " either way");
        }
        this.from = fromRate;
        this.to = toRate;
        long g = gcd(fromRate, toRate);
        this.num = fromRate / g;
        this.den = toRate / g;
        this.twoFc = ROLLOFF * Math.min(fromRate, toRate) / (double) fromRate;
        this.halfWidth = ZERO_CROSSINGS / twoFc;
        this.reach = (int) Math.ceil(halfWidth) + 1;
        this.phases = den <= MAX_CACHED_PHASES ? new double[(int) den][] : null;
    }

    /** Resamples x from fromRate to toRate (Hz); see the class description for the filter and its accuracy. */
    public static float[] resample(float[] x, int fromRate, int toRate) {
        return new Resampler(fromRate, toRate).apply(x);
    }

    public int fromRate() { return from; }

    public int toRate() { return to; }

    /** Number of output samples for n input samples: ceil(n * to / from). */
    public long outputLength(long n) {
        return Math.ceilDiv(Math.multiplyExact(n, den), num);
    }

    public float[] apply(float[] x) {
        if (from == to) return x.clone();
        long outLen = outputLength(x.length);
        if (outLen > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("output too long: " + outLen + " samples");
        float[] y = new float[(int) outLen];
        int taps = 2 * reach;
        for (int n = 0; n < y.length; n++) {
            long pos = n * num;          // n * from / to = (n * num) / den
            long q = pos / den;
            int r = (int) (pos % den);
            double[] k = kernel(r);
            long first = q - reach + 1;
            int lo = (int) Math.max(0, -first);
            int hi = (int) Math.min(taps, x.length - first);
            double acc = 0;
            for (int j = lo; j < hi; j++) acc += k[j] * x[(int) (first + j)];
            y[n] = (float) acc;
        }
        return y;
    }

    /** The taps for phase r/den: tap j applies to input q - reach + 1 + j. */
    private double[] kernel(int r) {
        if (phases != null && phases[r] != null) return phases[r];
        double frac = r / (double) den;
        double[] k = new double[2 * reach];
        double sum = 0;
        for (int j = 0; j < k.length; j++) {
            double d = frac - (j - reach + 1); // output time minus input time, in input samples
            double v = 0;
            if (Math.abs(d) < halfWidth) {
                double z = d / halfWidth;
                v = twoFc * sinc(twoFc * d) * bessel0(BETA * Math.sqrt(1 - z * z)) / bessel0(BETA);
            }
            k[j] = v;
            sum += v;
        }
        for (int j = 0; j < k.length; j++) k[j] /= sum;
        if (phases != null) phases[r] = k;
        return k;
    }

    private static double sinc(double x) {
        if (x == 0) return 1;
        double px = Math.PI * x;
        return Math.sin(px) / px;
    }

    /** The modified Bessel function I0, by its power series (converges fast for the arguments used here). */
    static double bessel0(double x) {
        double term = 1, sum = 1, q = x * x / 4;
        for (int k = 1; k < 200; k++) {
            term *= q / ((double) k * k);
            sum += term;
            if (term < sum * 1e-17) break;
        }
        return sum;
    }

    private static long gcd(long a, long b) {
        while (b != 0) {
            long t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    @Override
    public String toString() {
        return "Resampler[" + from + " -> " + to + " Hz, " + den + " phases, " + 2 * reach + " taps]";
    }

}
