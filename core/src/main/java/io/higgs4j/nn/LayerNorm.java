package io.higgs4j.nn;

import io.higgs4j.torch.Tensor;

/** torch.nn.LayerNorm over the last dimension: {@code weight} (ones) and {@code bias} (zeros), both [dim]. */
public class LayerNorm extends Module implements Layer {
    public final long dim;
    public final double eps;
    private final Parameter weight, bias;

    public LayerNorm(long dim, double eps, Init init) {
        this.dim = dim;
        this.eps = eps;
        this.weight = parameter("weight", init.ones(dim));
        this.bias = parameter("bias", init.zeros(dim));
    }

    /** The scale, [dim]. */
    public Tensor weight() { return weight.get(); }

    /** The shift, [dim]. */
    public Tensor bias() { return bias.get(); }

    /** Layer normalisation over the last dimension. */
    public Tensor forward(Tensor x) {
        return x.layerNorm(new long[] {dim}, weight.get(), bias.get(), eps);
    }
}
