package io.higgs4j.nn;

import io.higgs4j.torch.Aten;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

/**
 * torch.nn.utils.weight_norm's reparametrisation, weight = weight_g * weight_v / ||weight_v||, the norm taken over every
 * dimension but {@code dim}; weight_g keeps size 1 in those dimensions.
 */
final class WeightNorm {
    private WeightNorm() {}

    static Tensor weight(Tensor g, Tensor v, long dim) {
        return Aten.callTensor("aten::_weight_norm", "", v, g, dim);
    }

    /** The g that makes weight equal v, as weight_norm sets it when applied to a fresh module. */
    static Tensor initialG(Tensor v, long dim, Init init) {
        long[] shape = new long[v.dim()];
        java.util.Arrays.fill(shape, 1);
        shape[(int) dim] = v.size((int) dim);
        if (v.device().type() == io.higgs4j.torch.Device.Type.META || !init.initialize()) return init.zeros(shape);
        try (var ng = Torch.noGrad()) {
            return Aten.callTensor("aten::norm_except_dim", "", v, 2L, dim);
        }
    }
}
