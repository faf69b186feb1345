package io.higgs4j.nn;

import io.higgs4j.torch.Aten;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.TorchException;

/**
 * A ConvTranspose1d under torch.nn.utils.weight_norm (dim 0): {@code weight_g} [in, 1, 1], {@code weight_v}
 * [in, out, kernel], {@code bias} [out]. Output length (T - 1) stride - 2 padding + kernel + outputPadding.
 */
public class WNConvTranspose1d extends Module implements Layer {
    public final long inChannels, outChannels, kernelSize, stride, padding, outputPadding;
    private Tensor weightG, weightV, bias;

    public WNConvTranspose1d(long inChannels, long outChannels, long kernelSize, long stride, long padding, long outputPadding,
                             Init init) {
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelSize = kernelSize;
        this.stride = stride;
        this.padding = padding;
        this.outputPadding = outputPadding;
        this.bias = parameter("bias", init.zeros(outChannels));
        Tensor v = init.normal(inChannels, outChannels, kernelSize);
        this.weightG = parameter("weight_g", WeightNorm.initialG(v, 0, init));
        this.weightV = parameter("weight_v", v);
    }

    @Override
    protected void onParameterReplaced(String name, Tensor value) {
        switch (name) {
            case "weight_g" -> weightG = value;
            case "weight_v" -> weightV = value;
            default -> bias = value;
        }
    }

    public long outputLength(long t) {
        return (t - 1) * stride - 2 * padding + kernelSize + outputPadding;
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.dim() != 3 || x.size(1) != inChannels) {
            throw new TorchException("ConvTranspose1d(" + inChannels + " -> " + outChannels + "): expected input [B, " + inChannels
                    + ", T], got " + java.util.Arrays.toString(x.shape()));
        }
        try (Scope s = Scope.open()) {
            Tensor w = WeightNorm.weight(weightG, weightV, 0);
            return Scope.keep(Aten.callTensor("aten::conv_transpose1d", "", x, w, Aten.some(bias), new long[] {stride},
                    new long[] {padding}, new long[] {outputPadding}, 1L, new long[] {1}));
        }
    }
}
