package io.higgs4j.nn;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A building block with named parameters and children, like torch.nn.Module: a parameter's full name is the path
 * of attribute names from the root ("layers.3.mlp.gate_proj.weight"), so checkpoint keys map to fields one to one.
 * A module owns its parameters for its lifetime; {@link #close()} frees them. Each parameter is a {@link Parameter} box
 * that the module keeps in a field and reads when it computes; replacing a parameter's tensor swaps the tensor inside
 * that box, so the module's field and its names can never disagree.
 */
public abstract class Module implements AutoCloseable {

    private final LinkedHashMap<String, Parameter> parameters = new LinkedHashMap<>();
    private final LinkedHashMap<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /**
     * Registers a parameter under name and returns its box, which the subclass keeps in a final field and reads with
     * {@link Parameter#get()}; the module owns value from now on (it leaves any scope).
     */
    protected final Parameter parameter(String name, Tensor value) {
        if (parameters.containsKey(name)) throw new IllegalStateException("parameter " + name + " registered twice");
        Parameter p = new Parameter(value);
        parameters.put(name, p);
        return p;
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
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        parameters.forEach((n, p) -> out.put(n, p.get()));
        return java.util.Collections.unmodifiableMap(out);
    }

    /** Every parameter under its full name, in registration order (depth first). */
    public final Map<String, Tensor> namedParameters() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        namedParameterBoxes("").forEach((n, p) -> out.put(n, p.get()));
        return out;
    }

    /** Every parameter box under prefix + its full name, in the order of {@link #namedParameters()}. */
    final Map<String, Parameter> namedParameterBoxes(String prefix) {
        LinkedHashMap<String, Parameter> out = new LinkedHashMap<>();
        collectBoxes(prefix, out);
        return out;
    }

    private void collectBoxes(String prefix, Map<String, Parameter> out) {
        parameters.forEach((n, p) -> out.put(prefix + n, p));
        children.forEach((n, m) -> m.collectBoxes(prefix + n + ".", out));
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

    /** The box of the parameter fullName ("layers.0.mlp.up_proj.weight"): the one the owning module reads. */
    public final Parameter getParameter(String fullName) {
        Parameter p = parameters.get(fullName);
        if (p != null) return p;
        int dot = fullName.indexOf('.');
        Module child = dot < 0 ? null : children.get(fullName.substring(0, dot));
        if (child == null) throw new IllegalArgumentException("no parameter named " + fullName + " in " + getClass().getSimpleName());
        return child.getParameter(fullName.substring(dot + 1));
    }

    /**
     * Puts value in place of the parameter fullName (loading, LoRA's modules_to_save copies), inside the box the module
     * reads, and closes the previous tensor; the module owns value from now on.
     */
    public final void setParameter(String fullName, Tensor value) {
        getParameter(fullName).set(value);
    }

    /** Puts value in place of the parameter fullName and returns the previous tensor, still open (the caller's now). */
    public final Tensor exchangeParameter(String fullName, Tensor value) {
        return getParameter(fullName).exchange(value);
    }

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
        for (Parameter p : namedParameterBoxes("").values()) {
            Tensor t = p.get();
            if (t.dtype() == dtype || !t.dtype().isFloatingPoint()) continue;
            boolean grad = t.requiresGrad();
            Tensor converted;
            try (var g = Torch.noGrad()) {
                converted = t.to(dtype);
            }
            p.set(grad ? converted.requiresGrad(true) : converted);
        }
        return this;
    }

    @Override
    public void close() {
        parameters.values().forEach(Parameter::close);
        children.values().forEach(Module::close);
    }
}
