package io.higgs4j.trainer.dist;

/** A worker for LaunchTest's kill test: watches its launcher as train does, says it is up, then sleeps for a minute. */
public final class WatchingWorker {
    public static void main(String[] args) throws Exception {
        LauncherWatch.startIfLaunched(System.getenv());
        System.out.println("up");
        Thread.sleep(60_000);
    }
}
