package io.higgs4j.torch;

import java.util.ArrayList;
import java.util.List;

/**
 * The ATen ops whose schema takes a {@code str} (gelu, pad, stft), built from ops that take none. libtorch 2.10's
 * dispatcher turns every {@code str} argument into a {@code std::string} it allocates and never frees
 * (pytorch/pytorch#191340, fixed upstream in July 2026): 48 bytes per call, which a long training run or a generation
 * loop would pile up. Each method follows the op's own ATen implementation (named below), so the result is the same
 * computation: gelu is equal bit for bit on CPU, stft runs the very frames and FFT that {@code at::stft} runs.
 */
final class StringFreeOps {

    private StringFreeOps() {}

    /** 1/sqrt(2), as GeluKernel's kAlpha. */
    private static final double SQRT1_2 = 0.70710678118654752440;
    /** sqrt(2/pi) and 0.044715, as GeluKernel's kBeta and kKappa for the tanh approximation. */
    private static final double BETA = 0.79788456080286535588, KAPPA = 0.044715;

    /**
     * gelu(x) = x * 0.5 * (1 + erf(x / sqrt(2))), or with the tanh approximation
     * x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))), in GeluKernel's order of operations. bfloat16 and float16
     * are computed in float32 and rounded once, as the kernel does.
     */
    static Tensor gelu(Tensor x, boolean tanhApproximation) {
        DType dtype = x.dtype();
        if (!dtype.isFloatingPoint()) throw new IllegalArgumentException("gelu needs a floating-point tensor, got " + x.describe());
        boolean reduced = dtype == DType.BFLOAT16 || dtype == DType.FLOAT16;
        try (Scope s = Scope.open()) {
            Tensor v = reduced ? x.to(DType.FLOAT32) : x;
            Tensor inner = tanhApproximation
                    ? v.mul(v).mul(v).mul(KAPPA).add(v).mul(BETA).tanh()
                    : Ops.erf(v.mul(SQRT1_2));
            Tensor out = v.mul(0.5).mul(inner.add(1.0));
            return Scope.keep(reduced ? out.to(dtype) : out);
        }
    }

    /** torch.nn.functional.pad, as at::native::_pad_enum dispatches it: see {@link Tensor#pad}. */
    static Tensor pad(Tensor x, long[] pad, String mode, Double value) {
        if (pad == null || pad.length % 2 != 0 || pad.length / 2 > x.dim()) {
            throw new IllegalArgumentException("pad needs (before, after) pairs for at most " + x.dim() + " dimensions of "
                    + x.describe() + ", got " + java.util.Arrays.toString(pad));
        }
        if (mode == null) throw new IllegalArgumentException("pad: mode is null (constant, reflect, replicate or circular)");
        if (value != null && !mode.equals("constant")) {
            throw new IllegalArgumentException("pad: mode " + mode + " takes no value, got " + value);
        }
        int dims = pad.length / 2;
        return switch (mode) {
            case "constant" -> constantPad(x, pad, value == null ? 0.0 : value);
            case "reflect" -> switch (dims) {
                case 1 -> Ops.reflection_pad1d(x, pad);
                case 2 -> Ops.reflection_pad2d(x, pad);
                case 3 -> Ops.reflection_pad3d(x, pad);
                default -> throw new IllegalArgumentException("pad: reflect pads 1 to 3 dimensions, got " + dims);
            };
            case "replicate" -> switch (dims) {
                case 1 -> Ops.replication_pad1d(x, pad);
                case 2 -> Ops.replication_pad2d(x, pad);
                case 3 -> Ops.replication_pad3d(x, pad);
                default -> throw new IllegalArgumentException("pad: replicate pads 1 to 3 dimensions, got " + dims);
            };
            case "circular" -> Ops._pad_circular(x, pad);
            default -> throw new IllegalArgumentException("pad: unknown mode '" + mode + "' (constant, reflect, replicate or circular)");
        };
    }

    /**
     * Constant padding, from the last dimension back: a negative amount crops (narrow), a positive one concatenates a
     * block of value. (constant_pad_nd would do it in one op, but its value is a Scalar, which 2.10 cannot pass.)
     */
    private static Tensor constantPad(Tensor x, long[] pad, double value) {
        try (Scope s = Scope.open()) {
            Tensor out = x;
            boolean grown = false;
            for (int i = 0; i < pad.length / 2; i++) {
                int dim = x.dim() - 1 - i;
                long before = pad[2 * i], after = pad[2 * i + 1], size = out.size(dim);
                if (size + Math.min(before, 0) + Math.min(after, 0) < 0) {
                    throw new IllegalArgumentException("pad: cropping " + -Math.min(before, 0) + " + " + -Math.min(after, 0)
                            + " from dimension " + dim + " of size " + size + " of " + x.describe());
                }
                if (before < 0 || after < 0) {
                    long start = Math.max(-before, 0);
                    out = out.narrow(dim, start, size - start - Math.max(-after, 0));
                }
                if (before <= 0 && after <= 0) continue;
                List<Tensor> parts = new ArrayList<>(3);
                if (before > 0) parts.add(block(out, dim, before, value));
                parts.add(out);
                if (after > 0) parts.add(block(out, dim, after, value));
                out = Tensor.cat(parts, dim);
                grown = true;
            }
            // Like constant_pad_nd, a result that only crops (or keeps) x is a copy, never a view of it.
            return Scope.keep(grown ? out : out.clone());
        }
    }

    private static Tensor block(Tensor like, int dim, long length, double value) {
        long[] shape = like.shape();
        shape[dim] = length;
        return Tensor.full(shape, value, like.dtype(), like.device());
    }

    /**
     * torch.stft with return_complex=True, as at::native::stft computes it: with center the signal is padded by
     * nFft/2 on both sides in padMode; a window shorter than nFft is zero-padded to nFft, centred; the frames
     * (unfold) are multiplied by the window and transformed by _fft_r2c over their last dimension. x is [samples] or
     * [B, samples]; the result is [(B,) nFft/2+1 or nFft, frames], complex64.
     */
    static Tensor stft(Tensor x, long nFft, long hopLength, long winLength, Tensor window, boolean center, String padMode,
                       boolean normalized, boolean onesided) {
        if (x.dim() != 1 && x.dim() != 2) throw new IllegalArgumentException("stft needs a [samples] or [B, samples] signal, got " + x.describe());
        if (!x.dtype().isFloatingPoint()) throw new IllegalArgumentException("stft needs a real floating-point signal, got " + x.describe());
        if (nFft <= 0) throw new IllegalArgumentException("stft: nFft must be positive, got " + nFft);
        if (hopLength <= 0) throw new IllegalArgumentException("stft: hopLength must be positive, got " + hopLength);
        if (winLength <= 0 || winLength > nFft) {
            throw new IllegalArgumentException("stft: winLength must be in 1.." + nFft + " (nFft), got " + winLength);
        }
        if (window != null && (window.dim() != 1 || window.size(0) != winLength)) {
            throw new IllegalArgumentException("stft: window must be 1-d of winLength " + winLength + ", got " + window.describe());
        }
        try (Scope s = Scope.open()) {
            Tensor signal = x.dim() == 1 ? x.unsqueeze(0) : x;
            if (center) signal = pad(signal.unsqueeze(1), new long[] {nFft / 2, nFft / 2}, padMode, null).squeeze(1);
            long length = signal.size(1);
            if (nFft > length) {
                throw new IllegalArgumentException("stft: nFft must be in 1.." + length + " (the " + (center ? "padded " : "")
                        + "signal's length), got " + nFft);
            }
            Tensor w = window;
            if (winLength < nFft) {
                long left = (nFft - winLength) / 2;
                if (w == null) w = Tensor.ones(new long[] {winLength}, x.dtype(), x.device());
                w = pad(w, new long[] {left, nFft - winLength - left}, "constant", null);
            }
            Tensor frames = Ops.unfold(signal, 1, nFft, hopLength); // [B, frames, nFft]
            if (w != null) frames = frames.mul(w);
            Tensor spectrum = Ops._fft_r2c(frames, new long[] {2}, normalized ? 1 : 0, onesided).transpose(1, 2);
            return Scope.keep(x.dim() == 1 ? spectrum.squeeze(0) : spectrum);
        }
    }
}
