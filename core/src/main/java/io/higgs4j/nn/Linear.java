package io.higgs4j.nn;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

/**
 * y = x W^T (+ b), weight [out, in] as in torch.nn.Linear; optionally with a LoRA branch attached (children
 * {@code lora_A} and {@code lora_B}, PEFT's names), which can be merged into the weight, unmerged, or disabled.
 */
public class Linear extends Module implements Layer {
    public final long inFeatures, outFeatures;
    private final Parameter weight, bias;
    private LoraAdapter lora;
    private boolean merged, loraEnabled = true;

    public Linear(long inFeatures, long outFeatures, boolean bias, Init init) {
        this(inFeatures, outFeatures, bias, init, init.normal(outFeatures, inFeatures));
    }

    /** With a given initial weight [out, in]. */
    public Linear(long inFeatures, long outFeatures, boolean bias, Init init, Tensor weight) {
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = parameter("weight", weight);
        this.bias = bias ? parameter("bias", init.zeros(outFeatures)) : null;
    }

    /** Attaches a LoRA branch; its parameters appear as {@code lora_A.weight} and {@code lora_B.weight}. */
    public void attachLora(LoraAdapter adapter) {
        if (lora != null) throw new IllegalStateException("this linear already has a LoRA branch");
        if (adapter.loraA.inFeatures != inFeatures || adapter.loraB.outFeatures != outFeatures) {
            throw new IllegalArgumentException("LoRA branch " + adapter.loraA.inFeatures + "->" + adapter.loraB.outFeatures
                    + " does not fit linear " + inFeatures + "->" + outFeatures);
        }
        child("lora_A", adapter.loraA);
        child("lora_B", adapter.loraB);
        lora = adapter;
    }

    /** Removes the LoRA branch and frees it; a merged branch is unmerged first unless keepMerged. */
    public void detachLora(boolean keepMerged) {
        if (lora == null) return;
        if (merged && !keepMerged) unmerge();
        merged = false;
        removeChild("lora_A").close();
        removeChild("lora_B").close();
        lora = null;
    }

    /** The LoRA adapter, or null without one. */
    public LoraAdapter lora() { return lora; }

    /** Whether the adapter's update is merged into the weight. */
    public boolean isMerged() { return merged; }

    /** With false, forward ignores the LoRA branch (the base model's output); merged weights stay merged. */
    public void setLoraEnabled(boolean enabled) { loraEnabled = enabled; }

    /** W += scaling * B @ A, computed in float32 and cast back to W's dtype; forward then skips the branch. */
    public void merge() {
        if (lora == null) throw new IllegalStateException("no LoRA branch to merge");
        if (merged) return;
        updateWeight(+1);
        merged = true;
    }

    /** W -= scaling * B @ A (float32 math), restoring the base weight up to rounding in W's dtype. */
    public void unmerge() {
        if (!merged) return;
        updateWeight(-1);
        merged = false;
    }

    private void updateWeight(int sign) {
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            Tensor w = weight.get();
            w.copy_(w.to(DType.FLOAT32).add(lora.delta(), sign));
        }
    }

    /** The weight, [out, in]. */
    public Tensor weight() { return weight.get(); }

    /** The bias, or null without one. */
    public Tensor bias() { return bias == null ? null : bias.get(); }

    /**
     * x W^T (+ b) (+ the LoRA branch). An input of another dtype than the weight (bf16 activations reaching a float32
     * trainable head) is computed in the weight's dtype, and so is the result.
     */
    public Tensor forward(Tensor x) {
        DType own = weight().dtype();
        if (x.dtype() != own) {
            try (Scope s = Scope.open()) {
                return Scope.keep(forwardSameDtype(x.to(own)));
            }
        }
        return forwardSameDtype(x);
    }

    private Tensor forwardSameDtype(Tensor x) {
        if (lora == null || merged || !loraEnabled) return x.linear(weight(), bias());
        try (Scope s = Scope.open()) {
            return Scope.keep(x.linear(weight(), bias()).add(lora.forward(x, isTraining())));
        }
    }
}
