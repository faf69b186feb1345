package io.higgs4j.nn;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** torch.nn.Sequential: children named 0, 1, 2, ..., applied in order. */
public final class Sequential extends Module implements Layer {
    private final List<Layer> layers = new ArrayList<>();

    /** Appends module as layer number {@link #size()} and returns it. */
    public <M extends Module & Layer> M add(M module) {
        child(Integer.toString(layers.size()), module);
        layers.add(module);
        return module;
    }

    /** The i-th layer. */
    public Layer get(int i) { return layers.get(i); }

    /** The number of layers. */
    public int size() { return layers.size(); }

    /** The layers, unmodifiable. */
    public List<Layer> layers() { return Collections.unmodifiableList(layers); }

    @Override
    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor h = x;
            for (Layer l : layers) h = l.forward(h);
            return Scope.keep(h == x ? x.share() : h);
        }
    }
}
