package io.higgs4j.nn;

import io.higgs4j.torch.Device;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

/**
 * A convolution under torch.nn.utils.weight_norm, with the parameters as checkpoints store it: {@code bias} (the
 * convolution's own, registered first), then {@code weight_g} (size 1 but along {@code normDim}) and {@code weight_v}.
 * The weight, weight_g * weight_v / ||weight_v|| with the norm over every dimension but normDim, is rebuilt from the
 * two on every call, so both can be trained.
 */
abstract class WeightNormConv extends Module implements Layer {
    public final long normDim;
    private final Parameter g, v, bias;

    WeightNormConv(long[] weightShape, long normDim, long outChannels, Init init) {
        this.normDim = normDim;
        bias = parameter("bias", init.zeros(outChannels));
        Tensor v0 = init.normal(weightShape);
        g = parameter("weight_g", initialG(v0, init));
        v = parameter("weight_v", v0);
    }

    /** The g that makes the weight equal v, as weight_norm sets it when applied to a fresh module. */
    private Tensor initialG(Tensor v, Init init) {
        long[] shape = new long[v.dim()];
        java.util.Arrays.fill(shape, 1);
        shape[(int) normDim] = v.size((int) normDim);
        if (v.device().type() == Device.Type.META || !init.initialize()) return init.zeros(shape);
        try (var ng = Torch.noGrad()) {
            return v.normExceptDim(2, normDim);
        }
    }

    /** The effective weight, a new tensor. */
    protected final Tensor weight() {
        return Tensor.weightNorm(v.get(), g.get(), normDim);
    }

    protected final Tensor bias() {
        return bias.get();
    }
}
