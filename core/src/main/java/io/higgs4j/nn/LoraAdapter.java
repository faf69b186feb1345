package io.higgs4j.nn;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/**
 * The low-rank branch of a LoRA linear: lora_B(lora_A(dropout(x))) * scaling, with A [r, in] initialised
 * kaiming-uniform (a = sqrt 5, as torch.nn.Linear) and B [out, r] zero, so the wrapped layer starts equal to its base.
 */
public final class LoraAdapter {
    public final Linear loraA, loraB;
    public final int r;
    public final double scaling, dropout;

    public LoraAdapter(long in, long out, int r, double scaling, double dropout, Init init) {
        if (r < 1) throw new IllegalArgumentException("LoRA rank r must be >= 1, got " + r);
        if (dropout < 0 || dropout >= 1) throw new IllegalArgumentException("LoRA dropout must be in [0, 1), got " + dropout);
        this.r = r;
        this.scaling = scaling;
        this.dropout = dropout;
        this.loraA = new Linear(in, r, false, init, init.uniform(1 / Math.sqrt(in), r, in));
        this.loraB = new Linear(r, out, false, init, init.zeros(out, r));
    }

    Tensor forward(Tensor x, boolean training) {
        try (Scope s = Scope.open()) {
            // The branch may be kept in another dtype than the base (float32 adapters on a bf16 model).
            io.higgs4j.torch.DType own = loraA.weight().dtype();
            Tensor h = x.dtype() == own ? x : x.to(own);
            if (dropout > 0 && training) h = h.dropout(dropout, true);
            // scaling applied to the rank-r activation, not the [.., out] result: the same product (PEFT scales the
            // result) for r/out of the elementwise work, forward and backward
            Tensor a = loraA.forward(h);
            Tensor y = loraB.forward(scaling == 1.0 ? a : a.mul(scaling));
            return Scope.keep(y.dtype() == x.dtype() ? y : y.to(x.dtype()));
        }
    }

    /** scaling * B @ A in float32: the update a merge adds to the base weight. */
    Tensor delta() {
        try (Scope s = Scope.open()) {
            Tensor b = loraB.weight().to(io.higgs4j.torch.DType.FLOAT32), a = loraA.weight().to(io.higgs4j.torch.DType.FLOAT32);
            return Scope.keep(b.matmul(a).mul(scaling));
        }
    }
}
