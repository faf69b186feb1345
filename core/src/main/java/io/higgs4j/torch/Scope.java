package io.higgs4j.torch;

import java.util.Arrays;
import java.util.Collection;
import java.util.function.Supplier;

/**
 * Owns every tensor created on its thread while it is the innermost open scope, and closes them when it closes,
 * except those {@linkplain #keep kept}: a kept tensor moves to the enclosing scope, or to the caller when there is
 * none. A training step runs inside one scope, so its intermediates are freed when the step ends.
 *
 * <pre>{@code
 * try (Scope step = Scope.open()) {
 *     Tensor loss = model.forward(batch).crossEntropy(labels);
 *     loss.backward();
 *     lossValue = loss.item();
 * } // every tensor of the step is freed here
 * }</pre>
 *
 * <p>Threads: a scope is confined to the thread that opened it. It owns only tensors created on that thread, must be
 * closed there (closing elsewhere throws), and {@link #keep}/{@link #disown} of a tensor it owns must run there too.
 * A tensor handed to another thread should be disowned (or kept) first: otherwise it is closed when this scope
 * closes, and the other thread's next use of it throws "tensor used after close" (a call already running finishes).
 */
public final class Scope implements AutoCloseable {

    private static final ThreadLocal<Scope> CURRENT = new ThreadLocal<>();

    private final Scope parent;
    private final Thread thread;
    private Tensor[] owned = new Tensor[64];
    private int size;
    private boolean closed;

    private Scope(Scope parent) {
        this.parent = parent;
        this.thread = Thread.currentThread();
    }

    /** Opens a scope on this thread; it becomes the owner of the tensors created here until it closes. */
    public static Scope open() {
        Scope s = new Scope(CURRENT.get());
        CURRENT.set(s);
        return s;
    }

    /** The innermost open scope of this thread, or null. */
    public static Scope current() {
        return CURRENT.get();
    }

    /**
     * Runs body in a new scope and returns its result, which is kept: a tensor, or every tensor of a collection or
     * array, survives the scope; everything else created inside is freed.
     */
    public static <T> T run(Supplier<T> body) {
        try (Scope s = open()) {
            T result = body.get();
            s.keepAll(result);
            return result;
        }
    }

    /**
     * Keeps the tensors of result that this scope owns. Only those: a tensor the body kept itself, one listed twice,
     * or one an outer scope owns is where it should be already, and keeping it again would move it one scope too far.
     */
    private void keepAll(Object result) {
        switch (result) {
            case Tensor t -> {
                if (t.scope == this) keep(t);
            }
            case Collection<?> c -> c.forEach(this::keepAll);
            case Object[] a -> Arrays.stream(a).forEach(this::keepAll);
            case null, default -> { }
        }
    }

    /**
     * Takes t out of the scope that owns it, into that scope's parent (or to the caller if it has none), so it
     * outlives the scope. Returns t.
     */
    public static <T extends Tensor> T keep(T t) {
        Scope s = t.scope;
        if (s != null) {
            s.checkThread("keep");
            s.remove(t);
            t.scope = null;
            if (s.parent != null) s.parent.register(t);
        }
        return t;
    }

    /**
     * Takes t out of every scope: the caller (or the module holding it) owns it from now on and must close it. Unlike
     * {@link #keep}, which hands t to the enclosing scope, no scope will ever close it. Only ownership changes: this is
     * not autograd's {@link Tensor#detach()}, and t stays in the autograd graph. Returns t.
     */
    public static <T extends Tensor> T disown(T t) {
        Scope s = t.scope;
        if (s != null) {
            s.checkThread("disown");
            s.remove(t);
            t.scope = null;
        }
        return t;
    }

    void register(Tensor t) {
        if (closed) throw new IllegalStateException("scope is closed");
        if (size == owned.length) compactOrGrow();
        owned[size++] = t;
        t.scope = this;
    }

    /** Drops tensors already closed by hand before growing, so long scopes with explicit closes stay small. */
    private void compactOrGrow() {
        int w = 0;
        for (int r = 0; r < size; r++) if (!owned[r].isClosed()) owned[w++] = owned[r];
        Arrays.fill(owned, w, size, null);
        size = w;
        if (size > owned.length / 2) owned = Arrays.copyOf(owned, owned.length * 2);
    }

    private void remove(Tensor t) {
        for (int i = size - 1; i >= 0; i--) {
            if (owned[i] == t) {
                System.arraycopy(owned, i + 1, owned, i, size - i - 1);
                owned[--size] = null;
                return;
            }
        }
    }

    /** Number of tensors this scope owns now (closed ones included until it compacts). */
    public int size() {
        return size;
    }

    /** A scope's list of tensors is its thread's alone: changing it from another would race with that thread. */
    private void checkThread(String what) {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("Scope." + what + ": the tensor belongs to a scope of thread " + thread.getName()
                    + "; keep or disown it there, before handing it to this thread");
        }
    }

    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("a scope must be closed on the thread that opened it (" + thread.getName() + ")");
        }
        if (CURRENT.get() != this) {
            throw new IllegalStateException("scopes must be closed innermost first; an inner scope is still open");
        }
        closed = true;
        CURRENT.set(parent);
        RuntimeException first = null;
        for (int i = size - 1; i >= 0; i--) {
            Tensor t = owned[i];
            owned[i] = null;
            t.scope = null;
            try {
                t.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        size = 0;
        if (first != null) throw first;
    }
}
