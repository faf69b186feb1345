package io.higgs4j.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Children named 0, 1, 2, ... as in torch.nn.ModuleList. */
public final class ModuleList<M extends Module> extends Module {
    private final List<M> items = new ArrayList<>();

    /** Appends module as child number {@link #size()} and returns it. */
    public M add(M module) {
        child(Integer.toString(items.size()), module);
        items.add(module);
        return module;
    }

    /** The i-th module. */
    public M get(int i) { return items.get(i); }

    /** The number of modules. */
    public int size() { return items.size(); }

    /** The modules, unmodifiable. */
    public List<M> items() { return Collections.unmodifiableList(items); }
}
