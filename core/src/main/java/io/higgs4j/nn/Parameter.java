package io.higgs4j.nn;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/**
 * The single place a module parameter's tensor lives. A module keeps the box in a final field and reads
 * {@link #get()} when it computes; whatever replaces the tensor (loading into a fresh tensor, {@link Module#to},
 * LoRA's modules_to_save copies and their swaps) puts the new tensor into this same box through {@link Module}, so a
 * module has no second reference that could keep pointing at a tensor training no longer updates.
 * <p>
 * The box owns its tensor: {@link Module#close()} closes it. Only the {@code nn} package can swap it, so every
 * replacement goes through {@link Module#setParameter} or {@link Module#exchangeParameter}, which name the parameter.
 */
public final class Parameter {
    private Tensor value;

    /** Takes value out of any scope: the box owns it from now on. */
    Parameter(Tensor value) {
        this.value = Scope.disown(value);
    }

    /** The current tensor (shared, not a copy: the box still owns it). */
    public Tensor get() {
        return value;
    }

    /** Puts next in and closes the tensor held so far (unless it is next itself). */
    void set(Tensor next) {
        Tensor old = exchange(next);
        if (old != next) old.close();
    }

    /** Puts next in and returns the tensor held so far, still open: the caller owns it now. */
    Tensor exchange(Tensor next) {
        Tensor old = value;
        value = Scope.disown(next);
        return old;
    }

    void close() {
        value.close();
    }
}
