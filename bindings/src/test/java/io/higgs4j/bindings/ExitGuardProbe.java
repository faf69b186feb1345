package io.higgs4j.bindings;

import java.util.concurrent.CountDownLatch;

/**
 * Run in a child JVM by ExitGuardTest. "exit-while-loading": another thread calls System.exit(143) while a 1.5 s
 * stand-in for a load runs under ExitGuard. "load-in-shutdown": main calls LibTorchLoader.load() while the JVM exits.
 */
public final class ExitGuardProbe {
    public static void main(String[] args) throws Exception {
        if (args[0].equals("exit-while-loading")) {
            CountDownLatch loading = new CountDownLatch(1);
            Thread.ofPlatform().start(() -> {
                try {
                    loading.await();
                } catch (InterruptedException e) {
                    return;
                }
                System.exit(143);
            });
            ExitGuard.holdExitDuring("a stand-in", () -> {
                System.out.println("loading");
                loading.countDown();
                try {
                    Thread.sleep(1500);
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                System.out.println("load returned");
            });
            Thread.sleep(10_000); // exit comes first
        } else {
            // shutdown begins (System.exit on another thread) and stays in progress for 5 s; then main loads libtorch
            CountDownLatch exiting = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                exiting.countDown();
                try {
                    Thread.sleep(5000);
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            }));
            Thread.ofPlatform().start(() -> System.exit(143));
            exiting.await();
            System.out.println("loading");
            System.out.println("loaded " + LibTorchLoader.load().version());
        }
    }
}
