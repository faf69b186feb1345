package io.higgs4j.nn;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A building block with named parameters and children, like torch.nn.Module: a parameter's full name is the path
 * of attribute names from the root ("layers.3.mlp.gate_proj.weight"), so checkpoint keys map to fields one to one.
 * A module owns its parameters for its lifetime; {@link #close()} frees them.
 */
public abstract class Module implements AutoCloseable {

    private final LinkedHashMap<String, Tensor> parameters = new LinkedHashMap<>();
    private final LinkedHashMap<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** Registers a parameter under name; the module owns it from now on (it leaves any scope). */
    protected final Tensor parameter(String name, Tensor value) {
        if (parameters.containsKey(name)) throw new IllegalStateException("parameter " + name + " registered twice");
        parameters.put(name, Scope.disown(value));
        return value;
    }

    protected final <M extends Module> M child(String name, M module) {
        if (children.containsKey(name)) throw new IllegalStateException("module " + name + " registered twice");
        children.put(name, module);
        return module;
    }

    /** Unregisters a child (its parameters leave this module's names); the caller owns it afterwards. */
    protected final Module removeChild(String name) {
        Module m = children.remove(name);
        if (m == null) throw new IllegalArgumentException("no child module " + name + " in " + getClass().getSimpleName());
        return m;
    }

    /** The direct parameters of this module (not its children's), by their short names. */
    public final Map<String, Tensor> directParameters() {
        return java.util.Collections.unmodifiableMap(parameters);
    }

    /** Every parameter under its full name, in registration order (depth first). */
    public final Map<String, Tensor> namedParameters() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        collect("", out);
        return out;
    }

    private void collect(String prefix, Map<String, Tensor> out) {
        parameters.forEach((n, t) -> out.put(prefix + n, t));
        children.forEach((n, m) -> m.collect(prefix + n + ".", out));
    }

    /** Every module under its full name ("" for this one), depth first. */
    public final Map<String, Module> namedModules() {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String name, Map<String, Module> out) {
        out.put(name, this);
        children.forEach((n, m) -> m.collectModules(name.isEmpty() ? n : name + "." + n, out));
    }

    /** Every parameter of this module and its children, in registration order. */
    public final List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Replaces the tensor of a directly registered parameter (loading, LoRA merge), closing the old one. */
    protected final void replaceParameter(String name, Tensor value) {
        Tensor old = parameters.get(name);
        if (old == null) throw new IllegalArgumentException("no parameter " + name + " in " + getClass().getSimpleName());
        parameters.put(name, Scope.disown(value));
        if (old != value) old.close();
    }

    /** Sets a parameter by its full name ("layers.0.mlp.up_proj.weight"). */
    public final void setParameter(String fullName, Tensor value) {
        int dot = fullName.indexOf('.');
        if (parameters.containsKey(fullName)) {
            replaceParameter(fullName, value);
            onParameterReplaced(fullName, value);
            return;
        }
        Module child = dot < 0 ? null : children.get(fullName.substring(0, dot));
        if (child == null) throw new IllegalArgumentException("no parameter named " + fullName);
        child.setParameter(fullName.substring(dot + 1), value);
    }

    /** Puts value in place of the parameter fullName and returns the previous tensor, still open (the caller's now). */
    public final Tensor exchangeParameter(String fullName, Tensor value) {
        int dot = fullName.indexOf('.');
        Tensor old = parameters.get(fullName);
        if (old != null) {
            parameters.put(fullName, Scope.disown(value));
            onParameterReplaced(fullName, value);
            return old;
        }
        Module child = dot < 0 ? null : children.get(fullName.substring(0, dot));
        if (child == null) throw new IllegalArgumentException("no parameter named " + fullName);
        return child.exchangeParameter(fullName.substring(dot + 1), value);
    }

    /** Subclasses that keep a field for a parameter update it here. */
    protected void onParameterReplaced(String name, Tensor value) {}

    /** Elements in all parameters of this module and its children. */
    public long parameterCount() {
        long n = 0;
        for (Tensor t : namedParameters().values()) n += t.numel();
        return n;
    }

    /** Training mode (dropout active) or evaluation mode, for this module and its children. */
    public Module train(boolean on) {
        training = on;
        children.values().forEach(m -> m.train(on));
        return this;
    }

    /** Whether the module is in training mode. */
    public boolean isTraining() {
        return training;
    }

    /** Sets requires_grad on every parameter. */
    public Module requiresGrad(boolean on) {
        for (Tensor t : namedParameters().values()) {
            if (t.dtype().isFloatingPoint()) t.requiresGrad(on);
        }
        return this;
    }

    /** Converts every floating-point parameter to dtype in place of the old tensor. */
    public Module to(DType dtype) {
        for (Map.Entry<String, Tensor> e : namedParameters().entrySet()) {
            Tensor t = e.getValue();
            if (t.dtype() == dtype || !t.dtype().isFloatingPoint()) continue;
            boolean grad = t.requiresGrad();
            Tensor converted;
            try (var g = Torch.noGrad()) {
                converted = t.to(dtype);
            }
            setParameter(e.getKey(), grad ? converted.requiresGrad(true) : converted);
        }
        return this;
    }

    @Override
    public void close() {
        parameters.values().forEach(Tensor::close);
        children.values().forEach(Module::close);
    }
}
