package io.higgs4j.nn;

import io.higgs4j.torch.Tensor;

/** y = x W^T (+ b), weight [out, in] as in torch.nn.Linear. */
public class Linear extends Module {
    public final long inFeatures, outFeatures;
    private Tensor weight, bias;

    public Linear(long inFeatures, long outFeatures, boolean bias, Init init) {
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = parameter("weight", init.normal(outFeatures, inFeatures));
        this.bias = bias ? parameter("bias", init.zeros(outFeatures)) : null;
    }

    public Tensor weight() { return weight; }

    public Tensor bias() { return bias; }

    @Override
    protected void onParameterReplaced(String name, Tensor value) {
        if (name.equals("weight")) weight = value;
        else if (name.equals("bias")) bias = value;
    }

    public Tensor forward(Tensor x) {
        return x.linear(weight, bias);
    }
}
