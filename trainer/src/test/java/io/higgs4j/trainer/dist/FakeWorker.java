package io.higgs4j.trainer.dist;

/** A worker for the launch test: rank 1 fails at once, the others would run for a minute. */
public final class FakeWorker {
    public static void main(String[] args) throws Exception {
        int rank = Integer.parseInt(System.getenv("RANK"));
        System.out.println("hello from " + rank + " of " + System.getenv("WORLD_SIZE") + " at " + System.getenv("MASTER_ADDR")
                + ":" + System.getenv("MASTER_PORT") + " args " + String.join(" ", args));
        if (rank == 1) {
            Thread.sleep(300);
            System.out.println("failing");
            System.exit(3);
        }
        Thread.sleep(60_000);
    }
}
