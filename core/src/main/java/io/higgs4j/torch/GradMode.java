package io.higgs4j.torch;

import io.higgs4j.bindings.generated.LibTorch;

/**
 * Sets whether autograd records on this thread until closed, then restores the previous setting.
 * Obtained from {@link Torch#noGrad()} and {@link Torch#enableGrad()}.
 */
public final class GradMode implements AutoCloseable {
    private final boolean previous;
    private boolean closed;

    GradMode(boolean enabled) {
        Native.LOADED.getClass();
        previous = LibTorch.aoti_torch_grad_mode_is_enabled();
        LibTorch.aoti_torch_grad_mode_set_enabled(enabled);
    }

    public static boolean isEnabled() {
        Native.LOADED.getClass();
        return LibTorch.aoti_torch_grad_mode_is_enabled();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        LibTorch.aoti_torch_grad_mode_set_enabled(previous);
    }
}
