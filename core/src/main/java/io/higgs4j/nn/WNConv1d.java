package io.higgs4j.nn;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/**
 * A {@link Conv1d} under weight_norm (see {@link WeightNormConv}), as DAC-style codecs and HuBERT's positional
 * convolution store it: {@code weight_v} [out, in / groups, kernel].
 */
public class WNConv1d extends WeightNormConv {
    public final long inChannels, outChannels, kernelSize, stride, padding, dilation, groups;

    /** The DAC form: stride, padding and dilation, no groups, norm over all but the output channels. */
    public WNConv1d(long inChannels, long outChannels, long kernelSize, long stride, long padding, long dilation, Init init) {
        this(inChannels, outChannels, kernelSize, stride, padding, dilation, 1, 0, init);
    }

    public WNConv1d(long inChannels, long outChannels, long kernelSize, long stride, long padding, long dilation, long groups,
                    long normDim, Init init) {
        super(new long[] {outChannels, inChannels / groups, kernelSize}, normDim, outChannels, init);
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelSize = kernelSize;
        this.stride = stride;
        this.padding = padding;
        this.dilation = dilation;
        this.groups = groups;
    }


    @Override
    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            return Scope.keep(Conv1d.conv1d(x, weight(), bias(), stride, padding, dilation, groups));
        }
    }
}
