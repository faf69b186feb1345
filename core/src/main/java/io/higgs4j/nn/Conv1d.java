package io.higgs4j.nn;

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

    /** x [B, in, T] -> [B, out, T']; see {@link #conv1d}. */
    @Override
    public Tensor forward(Tensor x) {
        return conv1d(x, weight(), bias(), stride, padding, dilation, groups);
    }

    /**
     * The convolution of x [B, in, T] with weight [out, in / groups, kernel] and bias [out] or null, checked here for the
     * layer's message and run by {@link Tensor#conv1d} (which avoids NNPACK's per-call warning on the CPU).
     */
    public static Tensor conv1d(Tensor x, Tensor weight, Tensor bias, long stride, long padding, long dilation, long groups) {
        long in = weight.size(1) * groups;
        if (x.dim() != 3 || x.size(1) != in) {
            throw new TorchException("Conv1d(" + in + " -> " + weight.size(0) + "): expected input [B, " + in
                    + ", T], got " + java.util.Arrays.toString(x.shape()));
        }
        return Tensor.conv1d(x, weight, bias, stride, padding, dilation, groups);
    }
}
