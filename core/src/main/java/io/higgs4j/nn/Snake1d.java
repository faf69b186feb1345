package io.higgs4j.nn;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/** The Snake activation of DAC-style codecs, x + sin(alpha x)^2 / (alpha + 1e-9), with {@code alpha} [1, C, 1] (ones). */
public class Snake1d extends Module implements Layer {
    public final long channels;
    private final Parameter alpha;

    public Snake1d(long channels, Init init) {
        this.channels = channels;
        this.alpha = parameter("alpha", init.ones(1, channels, 1));
    }

    @Override
    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor alpha = this.alpha.get();
            Tensor sin = alpha.mul(x).sin();
            return Scope.keep(x.add(sin.mul(sin).div(alpha.add(1e-9))));
        }
    }
}
