package io.higgs4j.trainer.dist;

/**
 * A worker for LaunchTest's stop test: says it is up, then sleeps for a minute. Even ranks hold their JVM's exit back
 * for a minute too (a shutdown hook that sleeps), as a worker busy on SIGTERM would, so only a kill ends them.
 */
public final class StubbornWorker {
    public static void main(String[] args) throws Exception {
        int rank = Integer.parseInt(System.getenv("RANK"));
        if (rank % 2 == 0) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    Thread.sleep(60_000);
                } catch (InterruptedException ignored) {
                    // killed
                }
            }));
        }
        System.out.println("up");
        Thread.sleep(60_000);
    }
}
