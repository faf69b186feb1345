package io.higgs4j.nn;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.TorchException;

/**
 * A ConvTranspose1d under weight_norm over dim 0 (see {@link WeightNormConv}): {@code weight_g} [in, 1, 1],
 * {@code weight_v} [in, out, kernel], {@code bias} [out]. Output length (T - 1) stride - 2 padding + kernel +
 * outputPadding.
 */
public class WNConvTranspose1d extends WeightNormConv {
    public final long inChannels, outChannels, kernelSize, stride, padding, outputPadding;

    public WNConvTranspose1d(long inChannels, long outChannels, long kernelSize, long stride, long padding, long outputPadding,
                             Init init) {
        super(new long[] {inChannels, outChannels, kernelSize}, 0, outChannels, init);
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelSize = kernelSize;
        this.stride = stride;
        this.padding = padding;
        this.outputPadding = outputPadding;
    }


    @Override
    public Tensor forward(Tensor x) {
        if (x.dim() != 3 || x.size(1) != inChannels) {
            throw new TorchException("ConvTranspose1d(" + inChannels + " -> " + outChannels + "): expected input [B, " + inChannels
                    + ", T], got " + java.util.Arrays.toString(x.shape()));
        }
        try (Scope s = Scope.open()) {
            return Scope.keep(Tensor.convTranspose1d(x, weight(), bias(), stride, padding, outputPadding, 1, 1));
        }
    }
}
