package io.higgs4j.audio;

/**
 * Mono audio: samples, nominally in [-1, 1], at a sample rate in Hz.
 *
 * @param samples    the samples (the array is the record's own; callers must not change it)
 * @param sampleRate samples per second, positive
 */
public record Audio(float[] samples, int sampleRate) {

    public Audio {
        if (samples == null) throw new IllegalArgumentException("samples must not be null");
        if (sampleRate <= 0) throw new IllegalArgumentException("sample rate must be positive, got " + sampleRate);
    }

    /** Length in seconds. */
    public double seconds() {
        return samples.length / (double) sampleRate;
    }

    /** This audio at another sample rate (itself when the rate is already that one); see {@link Resampler}. */
    public Audio resampled(int targetRate) {
        return targetRate == sampleRate ? this : new Audio(Resampler.resample(samples, sampleRate, targetRate), targetRate);
    }

    @Override
    public String toString() {
        return "Audio[" + samples.length + " samples at " + sampleRate + " Hz, " + String.format(java.util.Locale.ROOT, "%.3f", seconds()) + " s]";
    }
}
