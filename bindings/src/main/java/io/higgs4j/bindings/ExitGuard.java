package io.higgs4j.bindings;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Holds JVM exit back while a native library loads.
 *
 * <p>A SIGTERM or a System.exit on another thread ends in the C library's exit(), which runs the C++ static destructors
 * that a library's initializers have registered so far, while those initializers carry on inside dlopen on the loading
 * thread. libtorch then crashes (SIGSEGV in c10::Dispatcher, or SIGABRT). JVM shutdown runs the application's shutdown
 * hooks before it calls exit(), so a hook that waits until the load has returned keeps exit() after the initializers.
 */
final class ExitGuard {

    /** How long exit waits for a load; a load stuck longer (a hung file system) does not keep the JVM alive forever. */
    static final Duration MAX_WAIT = Duration.ofSeconds(60);

    private ExitGuard() {}

    /**
     * Runs load (which loads what) so that JVM exit waits for it to return. Once the JVM has begun to shut down it does
     * not load: it waits up to MAX_WAIT for the JVM to end, then throws IllegalStateException.
     */
    static void holdExitDuring(String what, Runnable load) {
        CountDownLatch done = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            try {
                done.await(MAX_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "higgs4j-exit-waits-for-" + what);
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException shutdownInProgress) {
            // The hooks may have run already, so nothing would hold exit() back from the initializers. The JVM is about
            // to end; waiting for that keeps the caller from reporting a failure (or a stack trace) on its way out.
            // Only a shutdown hook that loads libtorch itself is still here after MAX_WAIT.
            try {
                Thread.sleep(MAX_WAIT);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("not loading " + what + ": this JVM is shutting down");
        }
        try {
            load.run();
        } finally {
            done.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shutdownInProgress) {
                // the hook is running; the count-down lets it return
            }
        }
    }
}
