package io.higgs4j.nn;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/**
 * A Conv1d under torch.nn.utils.weight_norm, as the checkpoints of DAC-style codecs and HuBERT's positional convolution
 * store it: {@code weight_g} (size 1 but along {@code normDim}), {@code weight_v} [out, in / groups, kernel] and
 * {@code bias} [out]. The weight is rebuilt from the two on every call, so both can be trained.
 */
public class WNConv1d extends Module implements Layer {
    public final long inChannels, outChannels, kernelSize, stride, padding, dilation, groups, normDim;
    private Tensor weightG, weightV, bias;

    /** The DAC form: stride, padding and dilation, no groups, norm over all but the output channels. */
    public WNConv1d(long inChannels, long outChannels, long kernelSize, long stride, long padding, long dilation, Init init) {
        this(inChannels, outChannels, kernelSize, stride, padding, dilation, 1, 0, init);
    }

    public WNConv1d(long inChannels, long outChannels, long kernelSize, long stride, long padding, long dilation, long groups,
                    long normDim, Init init) {
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelSize = kernelSize;
        this.stride = stride;
        this.padding = padding;
        this.dilation = dilation;
        this.groups = groups;
        this.normDim = normDim;
        // torch.nn.Conv1d registers weight and bias; weight_norm then removes weight and adds weight_g and weight_v.
        this.bias = parameter("bias", init.zeros(outChannels));
        Tensor v = init.normal(outChannels, inChannels / groups, kernelSize);
        this.weightG = parameter("weight_g", WeightNorm.initialG(v, normDim, init));
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

    /** Output length for an input of length t. */
    public long outputLength(long t) {
        return Math.floorDiv(t + 2 * padding - dilation * (kernelSize - 1) - 1, stride) + 1;
    }

    @Override
    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor w = WeightNorm.weight(weightG, weightV, normDim);
            return Scope.keep(Conv1d.conv1d(x, w, bias, stride, padding, dilation, groups));
        }
    }
}
