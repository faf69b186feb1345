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
     * forward without the weight: x * rsqrt(mean(x^2) + eps) in float32 (float64 stays float64), cast back to x's dtype;
     * normalize(x).mul(weight()) is forward(x), element for element. One aten::rms_norm call without a weight: on CPU
     * libtorch runs the same kernels the seven calls of the composite did; on CUDA one fused kernel (_fused_rms_norm).
     * The weight stays out of the call so that it is applied after the cast, as Hugging Face's LlamaRMSNorm does.
     */
    public Tensor normalize(Tensor x) {
        return x.rmsNorm(new long[] {dim}, null, eps);
    }
}
