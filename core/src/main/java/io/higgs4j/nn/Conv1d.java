package io.higgs4j.nn;

import io.higgs4j.torch.Aten;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.TorchException;

/**
 * torch.nn.Conv1d: {@code weight} [out, in / groups, kernel] (normal with the init's std, as Hugging Face initialises
 * Whisper's convolutions) and {@code bias} [out] (zeros). Input [B, in, T], output [B, out, T'] with
 * T' = (T + 2 padding - dilation (kernel - 1) - 1) / stride + 1 (floor).
 */
public class Conv1d extends Module implements Layer {
    public final long inChannels, outChannels, kernelSize, stride, padding, dilation, groups;
    private final Parameter weight, bias;

    public Conv1d(long inChannels, long outChannels, long kernelSize, long stride, long padding, boolean bias, Init init) {
        this(inChannels, outChannels, kernelSize, stride, padding, 1, 1, bias, init);
    }

    public Conv1d(long inChannels, long outChannels, long kernelSize, long stride, long padding, long dilation, long groups,
                  boolean bias, Init init) {
        if (inChannels % groups != 0 || outChannels % groups != 0) {
            throw new IllegalArgumentException("Conv1d: channels " + inChannels + " -> " + outChannels + " not divisible by groups " + groups);
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelSize = kernelSize;
        this.stride = stride;
        this.padding = padding;
        this.dilation = dilation;
        this.groups = groups;
        this.weight = parameter("weight", init.normal(outChannels, inChannels / groups, kernelSize));
        this.bias = bias ? parameter("bias", init.zeros(outChannels)) : null;
    }

    /** The weight, [out, in / groups, kernel]. */
    public Tensor weight() { return weight.get(); }

    /** The bias, or null without one. */
    public Tensor bias() { return bias == null ? null : bias.get(); }

    /** Output length for an input of length t. */
    public long outputLength(long t) {
        return Math.floorDiv(t + 2 * padding - dilation * (kernelSize - 1) - 1, stride) + 1;
    }

    /** Whether oneDNN convolution works for float32, bfloat16 (cleared on the first refusal). */
    private static final boolean[] MKLDNN = {true, true};

    /** x [B, in, T] -> [B, out, T']; see {@link #conv1d}. */
    @Override
    public Tensor forward(Tensor x) {
        return conv1d(x, weight(), bias(), stride, padding, dilation, groups);
    }

    /**
     * The convolution of x [B, in, T] with weight [out, in / groups, kernel] and bias [out] or null. On CUDA this is
     * aten::conv1d (cuDNN). On the CPU, aten::conv1d probes NNPACK first and logs "Could not initialize NNPACK" on every
     * call where NNPACK cannot start, so the backend is called directly: aten::mkldnn_convolution (oneDNN, what conv1d
     * picks for float32 and bfloat16) or, for other dtypes and builds without oneDNN, aten::thnn_conv2d over
     * [B, in, 1, T] (im2col and a matrix product; aten::conv1d where dilation or groups exceed 1). All have autograd.
     */
    public static Tensor conv1d(Tensor x, Tensor weight, Tensor bias, long stride, long padding, long dilation, long groups) {
        long in = weight.size(1) * groups;
        if (x.dim() != 3 || x.size(1) != in) {
            throw new TorchException("Conv1d(" + in + " -> " + weight.size(0) + "): expected input [B, " + in
                    + ", T], got " + java.util.Arrays.toString(x.shape()));
        }
        Object b = bias == null ? Aten.NONE : Aten.some(bias);
        long[] st = {stride}, pad = {padding}, dil = {dilation};
        if (x.device().type() != Device.Type.CPU) {
            return Aten.callTensor("aten::conv1d", "", x, weight, b, st, pad, dil, groups);
        }
        int slot = x.dtype() == DType.FLOAT32 ? 0 : x.dtype() == DType.BFLOAT16 ? 1 : -1;
        if (slot >= 0 && MKLDNN[slot]) {
            try {
                return Aten.callTensor("aten::mkldnn_convolution", "", x, weight, b, pad, st, dil, groups);
            } catch (TorchException e) {
                MKLDNN[slot] = false; // a libtorch built without oneDNN, or without this dtype
            }
        }
        if (dilation != 1 || groups != 1) {
            return Aten.callTensor("aten::conv1d", "", x, weight, b, st, pad, dil, groups);
        }
        try (Scope s = Scope.open()) {
            Tensor out = Aten.callTensor("aten::thnn_conv2d", "", x.unsqueeze(2), weight.unsqueeze(2), new long[] {1, weight.size(2)}, b,
                    new long[] {1, stride}, new long[] {0, padding});
            return Scope.keep(out.squeeze(2));
        }
    }
}
