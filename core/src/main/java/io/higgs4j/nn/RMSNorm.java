package io.higgs4j.nn;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/**
 * Llama's RMSNorm: normalise in float32, cast back to the input dtype, then scale by weight. (Float64 inputs stay in
 * float64, where Hugging Face would round them to float32: only gradient checks use float64.)
 */
public class RMSNorm extends Module {
    public final double eps;
    private final long dim;
    private final Parameter weight;

    public RMSNorm(long dim, double eps, Init init) {
        this.eps = eps;
        this.dim = dim;
        this.weight = parameter("weight", init.ones(dim));
    }

    /** The scale, [dim]. */
    public Tensor weight() { return weight.get(); }

    /** x * rsqrt(mean(x^2) + eps) in float32 (float64 stays float64), cast back, times the weight. */
    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            return Scope.keep(normalize(x).mul(weight.get()));
        }
    }

    /**
     * forward without the weight: x * rsqrt(mean(x^2) + eps) in float32 (float64 stays float64), cast back to x's dtype.
     * normalize(x).mul(weight()) is forward(x), element for element.
     */
    public Tensor normalize(Tensor x) {
        // aten::rms_norm without a weight computes x * rsqrt(mean(x^2) + eps) in float32 (float64 stays float64) and
        // casts back: on CPU the same kernels as the composite we had, element for element, in one call where that made
        // seven; on CUDA, where libtorch has a fused kernel for it (_fused_rms_norm), one kernel forward and one backward
        // instead of seven and about as many. The weight is applied after the cast, as Hugging Face's LlamaRMSNorm does,
        // so it stays out of the call.
        return x.rmsNorm(new long[] {dim}, null, eps);
    }
}
