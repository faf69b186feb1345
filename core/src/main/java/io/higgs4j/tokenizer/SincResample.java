package io.higgs4j.tokenizer;

import io.higgs4j.nn.Conv1d;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/**
 * torchaudio.functional.resample with its defaults (sinc_interp_hann, lowpass_filter_width 6, rolloff 0.99), which is
 * how the tokenizer takes its 24 kHz input to HuBERT's 16 kHz: the rates are reduced by their gcd to orig and new,
 * each of the new output phases gets a Hann-windowed sinc kernel of 2 width + orig taps (cut-off
 * min(orig, new) rolloff), the input is padded by width on the left and width + orig on the right and convolved at
 * stride orig, and the result is cut to ceil(new length / orig) samples. The kernel is computed in double precision
 * and rounded to float once (torchaudio computes it in the waveform's float32), a difference of about 1e-7.
 */
public final class SincResample {
    private static final int LOWPASS_FILTER_WIDTH = 6;
    private static final double ROLLOFF = 0.99;

    private SincResample() {}

    /** x [B, N] at fromRate -> [B, ceil(N toRate / fromRate)] at toRate (x itself, shared, when the rates are equal). */
    public static Tensor resample(Tensor x, int fromRate, int toRate) {
        if (fromRate <= 0 || toRate <= 0) throw new IllegalArgumentException("sample rates must be positive: " + fromRate + ", " + toRate);
        if (fromRate == toRate) return x.share();
        int g = gcd(fromRate, toRate);
        int orig = fromRate / g, neu = toRate / g;
        double baseFreq = Math.min(orig, neu) * ROLLOFF;
        int width = (int) Math.ceil(LOWPASS_FILTER_WIDTH * orig / baseFreq);
        int taps = 2 * width + orig;
        float[] kernel = new float[neu * taps];
        for (int phase = 0; phase < neu; phase++) {
            for (int i = 0; i < taps; i++) {
                double t = (-phase / (double) neu + (i - width) / (double) orig) * baseFreq;
                t = Math.max(-LOWPASS_FILTER_WIDTH, Math.min(LOWPASS_FILTER_WIDTH, t));
                double window = Math.pow(Math.cos(t * Math.PI / LOWPASS_FILTER_WIDTH / 2), 2);
                double tp = t * Math.PI;
                double sinc = tp == 0 ? 1.0 : Math.sin(tp) / tp;
                kernel[phase * taps + i] = (float) (sinc * window * baseFreq / orig);
            }
        }
        long n = x.size(1), b = x.size(0);
        long target = (long) Math.ceil((double) neu * n / orig);
        try (Scope s = Scope.open()) {
            Tensor k = Tensor.of(kernel, neu, 1, taps).to(x.device(), x.dtype());
            Tensor padded = x.pad(new long[] {width, width + orig}, "constant", null);
            Tensor y = Conv1d.conv1d(padded.unsqueeze(1), k, null, orig, 0, 1, 1); // [B, new, frames]
            Tensor out = y.transpose(1, 2).reshape(b, -1);
            return Scope.keep(out.narrow(1, 0, Math.min(target, out.size(1))).contiguous());
        }
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }
}
