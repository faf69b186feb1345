package io.higgs4j.torch;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The native side of a {@link Tensor} (its ownership), reachable from the Cleaner without the Tensor itself.
 *
 * <p>{@code state} counts the native calls using the handle now, with {@link #CLOSED} as its sign bit. Every native
 * use of the handle runs between {@link #acquire} and {@link #release}, and the handle is freed only once it is
 * closed and no call uses it: so neither close() on another thread nor the Cleaner (which may run as soon as the
 * JIT decides the Tensor is unreachable, even in the middle of one of its methods) can free a handle under a
 * running call. The single-thread cost is one atomic add on entry and one on exit.
 */
final class HandleRef implements Runnable {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final LongAdder LIVE = new LongAdder();
    private static final LongAdder LEAKED = new LongAdder();
    private static final int CLOSED = Integer.MIN_VALUE;
    private static final VarHandle STATE;
    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(HandleRef.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final long handle;
    @SuppressWarnings("unused") // through STATE
    private volatile int state;
    volatile boolean explicit;
    /** Memory that a from_blob tensor views; kept reachable until the handle is freed. */
    final Object keepAlive;

    HandleRef(long handle, Object keepAlive) {
        this.handle = handle;
        this.keepAlive = keepAlive;
    }

    boolean closed() {
        return state < 0;
    }

    /** Marks one more call in flight; false (and nothing marked) when the tensor is closed. */
    boolean acquire() {
        if ((int) STATE.getAndAdd(this, 1) >= 0) return true;
        STATE.getAndAdd(this, -1);
        return false;
    }

    void release() {
        STATE.getAndAdd(this, -1);
    }

    /** Closes (at most once: the Cleanable runs this once) and frees the handle when the last call in flight ends. */
    @Override
    public void run() {
        STATE.getAndBitwiseOr(this, CLOSED);
        awaitCalls();
        Native.deleteHandle(handle);
        LIVE.decrement();
        if (!explicit) LEAKED.increment();
    }

    private void awaitCalls() {
        for (int spins = 0; ((int) STATE.getVolatile(this) & ~CLOSED) != 0; spins++) {
            if (spins < 100) Thread.onSpinWait();
            else LockSupport.parkNanos(50_000); // a long kernel on another thread: poll, it ends by itself
        }
    }

    /**
     * For an untracked tensor (a scalar made for one op) that exactly one call holds: closes it and gives that call its
     * handle to pass on, for the dispatcher consumes the handles it is given; close() then frees nothing. 0 when the
     * handle cannot be given away (held more than once), and the caller passes a new handle instead.
     */
    long handOver() {
        return STATE.compareAndSet(this, 1, CLOSED | 1) ? handle : 0;
    }

    /**
     * close() of a tensor never registered with the Cleaner nor counted live (a scalar made for one op): frees the
     * handle once, after the calls in flight; a second close does nothing.
     */
    void closeUntracked() {
        if ((int) STATE.getAndBitwiseOr(this, CLOSED) < 0) return;
        awaitCalls();
        Native.deleteHandle(handle);
    }

    /** Registers tensor with the Cleaner (the safety net that frees it if nobody closes it) and counts it live. */
    Cleaner.Cleanable register(Tensor tensor) {
        Cleaner.Cleanable c = CLEANER.register(tensor, this);
        LIVE.increment();
        return c;
    }

    /** close(): marks the close as explicit (not a leak) and runs the Cleanable, which calls {@link #run} once. */
    void closeExplicitly(Cleaner.Cleanable cleanable) {
        explicit = true;
        cleanable.clean();
    }

    static long live() {
        return LIVE.sum();
    }

    static long leaked() {
        return LEAKED.sum();
    }
}
