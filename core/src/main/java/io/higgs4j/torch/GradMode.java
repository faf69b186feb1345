package io.higgs4j.torch;

/**
 * Sets whether autograd records on this thread until closed, then restores the previous setting.
 * Obtained from {@link Torch#noGrad()} and {@link Torch#enableGrad()}.
 */
public final class GradMode implements AutoCloseable {
    private final boolean previous;
    private boolean closed;

    GradMode(boolean enabled) {
        previous = Native.gradModeEnabled();
        Native.setGradModeEnabled(enabled);
    }

    public static boolean isEnabled() {
        return Native.gradModeEnabled();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Native.setGradModeEnabled(previous);
    }
}
