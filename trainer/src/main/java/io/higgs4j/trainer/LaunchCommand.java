package io.higgs4j.trainer;

import io.higgs4j.trainer.dist.Backend;
import io.higgs4j.trainer.dist.LauncherWatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code higgs4j launch --nproc_per_node N [--master_port P] train ...}: torchrun for one machine. Starts N worker JVMs
 * (this JVM's java and class path) running {@code higgs4j train ... --backend cpu} with RANK, LOCAL_RANK, WORLD_SIZE,
 * MASTER_ADDR and MASTER_PORT set, prints their output prefixed by {@code [rank N]}, and when one worker fails stops
 * the others (terminate, then kill after a grace period) and exits with that worker's code; 0 when all succeed. A
 * SIGTERM or Ctrl-C to the launcher stops every worker it started the same way before it exits.
 */
@Command(name = "launch", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Run a command (train) as N data-parallel worker processes on this machine, like torchrun.")
public final class LaunchCommand implements Callable<Integer> {

    @Option(names = {"--nproc_per_node", "--nproc-per-node"}, required = true, description = "worker processes to start")
    int nproc;

    @Option(names = {"--master_port", "--master-port"}, defaultValue = "29500",
            description = "TCP port of rank 0's rendezvous on 127.0.0.1; 0 picks a free one (default: ${DEFAULT-VALUE})")
    int masterPort;

    @Option(names = "--backend", description = "passed to train as --backend when the command does not give one (default: cpu)")
    String backend;

    @Option(names = {"--grace_seconds", "--grace-seconds"}, defaultValue = "15",
            description = "when a worker fails or the launcher is terminated, how long the workers get to exit before they are killed (default: ${DEFAULT-VALUE})")
    int graceSeconds;

    @Option(names = "--worker_main", hidden = true, defaultValue = "io.higgs4j.trainer.Main")
    String workerMain;

    @Parameters(arity = "1..*", paramLabel = "COMMAND", description = "the higgs4j command each worker runs, with its options (train ...)")
    List<String> command;

    PrintStream out = System.out;

    /** Where the workers' prefixed lines and the launcher's own go (System.out by default). */
    public LaunchCommand output(PrintStream stream) {
        out = stream;
        return this;
    }

    static final String MASTER_ADDR = "127.0.0.1";

    @Override
    public Integer call() throws Exception {
        if (nproc < 1) throw new IllegalArgumentException("--nproc_per_node must be >= 1, got " + nproc);
        if (masterPort < 0 || masterPort > 65535) throw new IllegalArgumentException("--master_port must be a TCP port, got " + masterPort);
        if (backend != null) Backend.parse(backend); // refused here, not once by every worker
        int port = masterPort == 0 ? freePort() : masterPort;
        List<String> args = new ArrayList<>(command);
        if (!args.isEmpty() && args.getFirst().equals("train") && !args.contains("--backend")) {
            args.add("--backend");
            args.add(backend != null ? backend : Backend.CPU.toString());
        }
        return run(workerCommand(args), port);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** java, the JVM options that matter, the class path, the main class, then args. */
    List<String> workerCommand(List<String> args) {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-Xmx") || a.startsWith("-Xss")) cmd.add(a);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), workerMain));
        cmd.addAll(args);
        return cmd;
    }

    private int run(List<String> cmd, int port) throws InterruptedException {
        Workers workers = new Workers();
        List<Thread> forwarders = new ArrayList<>();
        // SIGTERM or Ctrl-C: the JVM runs this hook and exits when it returns, so the workers go first
        Thread hook = new Thread(() -> workers.stop(-1, "[launch] terminated: stopping the workers"), "higgs4j-launch-stop");
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            return 1; // terminated before any worker started
        }
        try {
            for (int r = 0; r < nproc; r++) {
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
                Map<String, String> env = pb.environment();
                env.put("RANK", Integer.toString(r));
                env.put("LOCAL_RANK", Integer.toString(r));
                env.put("WORLD_SIZE", Integer.toString(nproc));
                env.put("LOCAL_WORLD_SIZE", Integer.toString(nproc));
                env.put("MASTER_ADDR", MASTER_ADDR);
                env.put("MASTER_PORT", Integer.toString(port));
                env.put(LauncherWatch.LAUNCHER_PID, Long.toString(ProcessHandle.current().pid()));
                Process p;
                try {
                    p = workers.start(pb);
                } catch (IOException e) {
                    workers.stop(-1, "[launch] cannot start rank " + r + ": " + e.getMessage());
                    return 1;
                }
                if (p == null) return 1; // the hook is stopping the workers; the JVM exits when it is done
                forwarders.add(forward(p, r));
            }
            if (!workers.say("[launch] started " + nproc + " workers; rank 0 listens at " + MASTER_ADDR + ":" + port)) return 1;
            List<Process> started = workers.started();
            int failed = -1, code = 0;
            while (true) {
                boolean allDone = true;
                for (int r = 0; r < started.size() && failed < 0; r++) {
                    Process p = started.get(r);
                    if (p.isAlive()) allDone = false;
                    else if (p.exitValue() != 0) {
                        failed = r;
                        code = p.exitValue();
                    }
                }
                // checked after the scan: a worker that the hook terminated is not reported as a failure
                if (workers.stopping()) return 1;
                if (failed >= 0 || allDone) break;
                Thread.sleep(50);
            }
            if (failed >= 0) {
                workers.stop(failed, "[launch] rank " + failed + " exited with code " + code + ": stopping the other workers");
            }
            for (Thread t : forwarders) t.join(5_000);
            if (failed >= 0) {
                out.println("[launch] failed: rank " + failed + " exited with code " + code);
                return code;
            }
            out.println("[launch] all " + nproc + " workers finished");
            return 0;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running
            }
        }
    }

    private Thread forward(Process p, int rank) {
        Thread t = Thread.ofPlatform().daemon().name("higgs4j-launch-rank-" + rank).start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    synchronized (out) {
                        out.println("[rank " + rank + "] " + line);
                    }
                }
            } catch (IOException | UncheckedIOException ignored) {
                // the worker is gone
            }
        });
        return t;
    }

    /**
     * The worker processes, shared by run() and the shutdown hook. Starting and the start of stopping exclude each
     * other, so once stop begins no worker starts and stop sees every worker that did.
     */
    private final class Workers {
        private final List<Process> started = new ArrayList<>();
        private boolean stopping;

        /** Starts a worker, or returns null once stopping has begun. */
        synchronized Process start(ProcessBuilder pb) throws IOException {
            if (stopping) return null;
            Process p = pb.start();
            started.add(p);
            return p;
        }

        synchronized List<Process> started() {
            return List.copyOf(started);
        }

        synchronized boolean stopping() {
            return stopping;
        }

        /** Prints line unless stopping has begun, so that it never follows a stop's message; returns whether it did. */
        synchronized boolean say(String line) {
            if (!stopping) out.println(line);
            return !stopping;
        }

        /**
         * Prints why, then stops every worker but the one at index skip, and stops any more from starting: terminates
         * them, waits up to the grace period, then kills what is left and waits for that too.
         */
        void stop(int skip, String why) {
            List<Process> ps;
            synchronized (this) {
                stopping = true;
                ps = List.copyOf(started);
                out.println(why);
            }
            List<Process> running = new ArrayList<>();
            for (int r = 0; r < ps.size(); r++) {
                if (r != skip && ps.get(r).isAlive()) running.add(ps.get(r));
            }
            running.forEach(Process::destroy);
            long deadline = System.nanoTime() + Duration.ofSeconds(graceSeconds).toNanos();
            try {
                for (Process p : running) {
                    long left = deadline - System.nanoTime();
                    if (left > 0) p.waitFor(left, TimeUnit.NANOSECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // kill them now
            }
            for (Process p : running) {
                if (p.isAlive()) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                }
            }
            for (Process p : running) {
                try {
                    p.waitFor(KILL_WAIT_SECONDS, TimeUnit.SECONDS); // a killed process ends at once; this reaps it
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
    }

    /** How long stop waits for killed workers to be gone (they go at once unless the kernel is stuck on them). */
    private static final int KILL_WAIT_SECONDS = 10;
}
