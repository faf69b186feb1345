package io.higgs4j.audio;

import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/**
 * Log-mel features as Hugging Face's {@code WhisperFeatureExtractor} computes them, for 16 kHz mono audio.
 *
 * <p>The audio is cut into 30-second chunks ({@value #CHUNK_SAMPLES} samples; the last one, or the only one,
 * zero padded to that length). For each chunk: the short-time Fourier transform with n_fft {@value #N_FFT}, hop
 * {@value #HOP_LENGTH} and a periodic Hann window of 400, centred (the chunk reflect-padded by 200 on each side),
 * gives 3001 frames of which the last is dropped, as HF does; the power spectrum |X|^2 is mapped to {@code nMels}
 * (80 or 128) mel bands by librosa's filter bank ({@code htk=False}, {@code norm='slaney'}, 0 to 8000 Hz); then
 * {@code log10(max(mel, 1e-10))}, clamped from below at the chunk's maximum minus 8, and {@code (x + 4) / 4}.
 *
 * <p>The transform runs in libtorch ({@code aten::stft}, complex64, then {@code aten::view_as_real}); the filter
 * bank is built here in double precision and applied as a float32 matmul.
 *
 * <p>The attention mask of a chunk marks its first {@code ceil(realSamples / 160)} frames, as HF's
 * {@code attention_mask[:, ::hop_length]} does: 3000 for a full chunk, 1500 for 15 s.
 */
public final class WhisperFeatureExtractor {

    public static final int SAMPLE_RATE = 16_000;
    public static final int N_FFT = 400;
    public static final int HOP_LENGTH = 160;
    public static final int CHUNK_SECONDS = 30;
    public static final int CHUNK_SAMPLES = CHUNK_SECONDS * SAMPLE_RATE;
    /** Frames per chunk after the last STFT frame is dropped. */
    public static final int CHUNK_FRAMES = CHUNK_SAMPLES / HOP_LENGTH;
    public static final int N_FREQS = N_FFT / 2 + 1;
    public static final double LOG_FLOOR = 1e-10;

    private final int nMels;
    private final double[][] filters;

    /** An extractor for nMels mel bands: 80 (Whisper up to large-v2) or 128 (large-v3, Higgs Audio). */
    public WhisperFeatureExtractor(int nMels) {
        if (nMels <= 0) throw new IllegalArgumentException("nMels must be positive, got " + nMels);
        this.nMels = nMels;
        this.filters = melFilterBank(nMels, N_FREQS, 0.0, 8000.0, SAMPLE_RATE);
    }

    public int nMels() { return nMels; }

    /** The mel filter bank, [nMels][201]: a copy. */
    public double[][] filters() {
        double[][] c = new double[nMels][];
        for (int m = 0; m < nMels; m++) c[m] = filters[m].clone();
        return c;
    }

    /**
     * The features of one piece of audio.
     *
     * @param features [chunks, nMels, 3000] float32
     * @param mask     [chunks, 3000] int64, 1 on frames that hold audio, 0 on padding
     * @param frames   per chunk, the number of real frames (the ones in the mask)
     */
    public record Features(Tensor features, Tensor mask, int[] frames) {
        public int chunks() { return frames.length; }
    }

    /** The features of audio at any rate: resampled to 16 kHz first when needed. */
    public Features extract(Audio audio) {
        return extract(audio.resampled(SAMPLE_RATE).samples(), Device.CPU);
    }

    /** The features of 16 kHz mono samples, computed on the CPU. */
    public Features extract(float[] samples16k) {
        return extract(samples16k, Device.CPU);
    }

    /**
     * The features of 16 kHz mono samples, computed on device. Empty audio gives one chunk of silence with no real
     * frames. The returned tensors belong to the caller's scope (or to the caller when no scope is open).
     */
    public Features extract(float[] samples16k, Device device) {
        int n = samples16k.length;
        int chunks = Math.max(1, Math.ceilDiv(n, CHUNK_SAMPLES));
        float[] padded = new float[Math.multiplyExact(chunks, CHUNK_SAMPLES)];
        System.arraycopy(samples16k, 0, padded, 0, n);
        int[] frames = new int[chunks];
        long[] mask = new long[chunks * CHUNK_FRAMES];
        for (int c = 0; c < chunks; c++) {
            int real = Math.max(0, Math.min(CHUNK_SAMPLES, n - c * CHUNK_SAMPLES));
            frames[c] = Math.ceilDiv(real, HOP_LENGTH);
            for (int f = 0; f < frames[c]; f++) mask[c * CHUNK_FRAMES + f] = 1;
        }
        Tensor[] out = Scope.run(() -> {
            Tensor x = Tensor.of(padded, chunks, CHUNK_SAMPLES).to(device);
            Tensor m = Tensor.of(mask, chunks, CHUNK_FRAMES).to(device);
            return new Tensor[] {logMel(x), m};
        });
        return new Features(out[0], out[1], frames);
    }

    /** Log-mel features of a batch of float32 waveforms [batch, samples] (any length of at least 201 samples). */
    public Tensor logMel(Tensor waveforms) {
        return Scope.run(() -> {
            Device device = waveforms.device();
            Tensor window = hannWindow(device);
            // stft.center: center=True with reflect padding of n_fft/2 on each side, one-sided, complex result.
            Tensor spec = waveforms.stft(N_FFT, HOP_LENGTH, N_FFT, window, true, "reflect", false, true);
            Tensor ri = spec.viewAsReal();                                              // [B, 201, T+1, 2]
            Tensor power = ri.mul(ri).sum(-1, false);                                    // [B, 201, T+1]
            long t = power.size(2) - 1;
            power = power.narrow(2, 0, t);                                               // drop the last frame
            Tensor mel = melTensor(device).matmul(power);                                // [B, nMels, T]
            Tensor logSpec = mel.clamp(LOG_FLOOR, Double.POSITIVE_INFINITY).log10();
            long b = logSpec.size(0);
            Tensor max = logSpec.reshape(b, -1).amax(1, true).unsqueeze(2);             // [B, 1, 1]
            Tensor floor = max.sub(8.0);
            Tensor clamped = logSpec.maximum(floor);
            return clamped.add(4.0).div(4.0);
        });
    }

    private Tensor melTensor(Device device) {
        float[] flat = new float[nMels * N_FREQS];
        for (int m = 0; m < nMels; m++) for (int k = 0; k < N_FREQS; k++) flat[m * N_FREQS + k] = (float) filters[m][k];
        return Tensor.of(flat, nMels, N_FREQS).to(device);
    }

    private static Tensor hannWindow(Device device) {
        return Tensor.of(hann(N_FFT), N_FFT).to(device);
    }

    /** The periodic Hann window of length n: 0.5 - 0.5 cos(2 pi i / n). */
    public static float[] hann(int n) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (float) (0.5 - 0.5 * Math.cos(2 * Math.PI * i / n));
        return w;
    }

    // ---- Slaney mel scale (librosa htk=False, HF mel_scale="slaney") ----

    private static final double F_SP = 200.0 / 3;
    private static final double MIN_LOG_HZ = 1000.0;
    private static final double MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
    private static final double LOG_STEP = Math.log(6.4) / 27.0;

    public static double hzToMel(double hz) {
        return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP;
    }

    public static double melToHz(double mel) {
        return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel;
    }

    /** The nMels + 2 band edges in Hz, evenly spaced in mel from fmin to fmax; band m has its centre at edge m + 1. */
    public static double[] melEdges(int nMels, double fmin, double fmax) {
        double lo = hzToMel(fmin), hi = hzToMel(fmax);
        double[] edges = new double[nMels + 2];
        for (int i = 0; i < edges.length; i++) edges[i] = melToHz(lo + (hi - lo) * i / (nMels + 1));
        return edges;
    }

    /**
     * librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm='slaney'), equal to HF's
     * mel_filter_bank(..., norm="slaney", mel_scale="slaney") transposed: [nMels][nFreqs] triangles over the FFT bin
     * frequencies linspace(0, sr / 2, nFreqs), each scaled by 2 / (upper edge - lower edge).
     */
    public static double[][] melFilterBank(int nMels, int nFreqs, double fmin, double fmax, int sampleRate) {
        double[] edges = melEdges(nMels, fmin, fmax);
        double[][] w = new double[nMels][nFreqs];
        for (int m = 0; m < nMels; m++) {
            double lower = edges[m], centre = edges[m + 1], upper = edges[m + 2];
            double enorm = 2.0 / (upper - lower);
            for (int k = 0; k < nFreqs; k++) {
                double f = (sampleRate / 2.0) * k / (nFreqs - 1);
                double down = (f - lower) / (centre - lower);
                double up = (upper - f) / (upper - centre);
                w[m][k] = Math.max(0, Math.min(down, up)) * enorm;
            }
        }
        return w;
    }
}
