package io.higgs4j.higgs;

import io.higgs4j.nn.Init;
import io.higgs4j.nn.Linear;
import io.higgs4j.nn.Module;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/** SwiGLU: down(silu(gate(x)) * up(x)). */
public final class LlamaMLP extends Module {
    public final Linear gateProj, upProj, downProj;

    public LlamaMLP(long hidden, long intermediate, Init init) {
        gateProj = child("gate_proj", new Linear(hidden, intermediate, false, init));
        upProj = child("up_proj", new Linear(hidden, intermediate, false, init));
        downProj = child("down_proj", new Linear(intermediate, hidden, false, init));
    }

    /** down(silu(gate(x)) * up(x)). */
    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            return Scope.keep(downProj.forward(gateProj.forward(x).silu().mul(upProj.forward(x))));
        }
    }
}
