package io.higgs4j.torch;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs the misuses that used to kill the JVM, for a forked child JVM: exits 0 when every case ended in the expected
 * exception or in correct values, 3 on any other outcome; a crash shows as another exit code (134, ...).
 *
 * <pre>MisuseMain MODE SECONDS</pre> MODE: gc (the Cleaner racing calls on unreachable tensors, run it with a small
 * heap), close (close() on one thread during calls on another), aten (escape-hatch calls that do not fit the schema),
 * errors (libtorch failures on two threads, whose reasons must be captured), all (the four at once), or reason (prints
 * the message of one failed index_select, SECONDS ignored).
 */
public final class MisuseMain {

    private static final AtomicReference<Throwable> FAILURE = new AtomicReference<>();

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        long end = System.nanoTime() + (long) (Double.parseDouble(args[1]) * 1e9);
        List<Thread> threads = new ArrayList<>();
        if (mode.equals("gc") || mode.equals("all")) threads.add(start("gc", () -> gcRace(end)));
        if (mode.equals("close") || mode.equals("all")) threads.add(start("close", () -> crossThreadClose(end)));
        if (mode.equals("aten") || mode.equals("all")) threads.add(start("aten", () -> badAtenCalls(end)));
        if (mode.equals("errors") || mode.equals("all")) {
            threads.add(start("errors-1", () -> libtorchFailures(end)));
            threads.add(start("errors-2", () -> libtorchFailures(end)));
        }
        if (mode.equals("reason")) {
            try (Tensor x = Tensor.ones(3, 2); Tensor bad = Tensor.of(new long[] {5})) {
                x.indexSelect(0, bad);
            } catch (TorchException e) {
                System.out.println("message: " + e.getMessage());
            }
            return;
        }
        if (threads.isEmpty()) throw new IllegalArgumentException("unknown mode " + mode);
        for (Thread t : threads) t.join();
        if (FAILURE.get() != null) {
            FAILURE.get().printStackTrace();
            System.exit(3);
        }
        System.out.println("ok " + mode);
    }

    private static Thread start(String name, Runnable body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                FAILURE.compareAndSet(null, e);
            }
        }, name);
        t.start();
        return t;
    }

    /** Tensors made and dropped outside any scope while another thread forces collections. */
    private static void gcRace(long end) {
        Thread gc = new Thread(() -> {
            while (System.nanoTime() < end) System.gc();
        }, "gc-loop");
        gc.setDaemon(true);
        gc.start();
        while (System.nanoTime() < end) {
            check(!Tensor.ones(3).requiresGrad(), "a fresh tensor requires no grad");
            check(Tensor.ones(3).shape()[0] == 3, "shape");
            check(Tensor.ones(2, 2).sum().item() == 4, "sum");
            check(Tensor.ones(3).grad() == null, "grad of a fresh tensor");
            check(Tensor.ones(4).toFloatArray()[3] == 1, "values");
        }
    }

    /** close() on this thread while another multiplies the same tensor: values right, or "used after close". */
    private static void crossThreadClose(long end) {
        while (System.nanoTime() < end) {
            Tensor a = Scope.disown(Tensor.ones(64, 64));
            Thread user = new Thread(() -> {
                try {
                    for (int i = 0; i < 50; i++) {
                        try (Tensor p = a.matmul(a)) {
                            float[] v = p.toFloatArray();
                            check(v[0] == 64 && v[v.length - 1] == 64, "matmul values");
                        }
                        try (Tensor sum = a.sum()) {
                            check(sum.item() == 64 * 64, "sum");
                        }
                        check(a.strides()[0] == 64, "strides");
                    }
                } catch (IllegalStateException closed) {
                    check(closed.getMessage().contains("used after close"), "message: " + closed.getMessage());
                } catch (Throwable e) {
                    FAILURE.compareAndSet(null, e);
                }
            });
            user.start();
            java.util.concurrent.locks.LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(200_000));
            a.close();
            join(user);
            check(a.isClosed(), "closed");
        }
    }

    /** Escape-hatch calls whose arguments or results do not fit the schema: refused, never run. */
    private static void badAtenCalls(long end) {
        while (System.nanoTime() < end) {
            try (Scope s = Scope.open()) {
                Tensor x = Tensor.ones(2);
                refused(() -> Aten.callTensor("aten::add", "Tensor", x));
                refused(() -> Aten.callTensor("aten::add", "Tensor", x, 3L));
                refused(() -> Aten.callTensor("aten::mul", "Tensor", 2.0, x));
                refused(() -> Aten.callTensor("aten::flip", "", x, x));
                refused(() -> Aten.callTensor("aten::sum", "dim_IntList", x, new long[] {0}, false, DType.FLOAT32));
                refused(() -> Aten.call("aten::neg", "", List.of(Aten.Ret.TENSOR, Aten.Ret.TENSOR), x));
                refused(() -> Aten.call("aten::neg", "", List.of(Aten.Ret.INT), x));
                refused(() -> Aten.callTensor("aten::no_such_op", "", x));
                check(Aten.callTensor("aten::neg", "", x).toFloatArray()[1] == -1, "a fitting call still runs");
            }
        }
    }

    /** libtorch refuses; the exception must carry its reason. */
    private static void libtorchFailures(long end) {
        while (System.nanoTime() < end) {
            try (Scope s = Scope.open()) {
                Tensor x = Tensor.ones(3, 2), bad = Tensor.of(new long[] {5});
                try {
                    x.indexSelect(0, bad);
                    check(false, "index_select out of range ran");
                } catch (TorchException e) {
                    check(e.getMessage().contains("index_select"), "message: " + e.getMessage());
                }
            }
        }
    }

    private static void refused(Runnable call) {
        try {
            call.run();
        } catch (TorchException | IllegalArgumentException expected) {
            return;
        }
        throw new AssertionError("a call that does not fit its schema ran");
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    private static void join(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
