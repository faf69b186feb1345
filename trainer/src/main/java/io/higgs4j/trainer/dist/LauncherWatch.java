package io.higgs4j.trainer.dist;

import java.util.Map;
import java.util.Optional;

/**
 * A worker of {@code higgs4j launch} ends when its launcher does. A launcher stopped by SIGTERM or Ctrl-C stops its
 * workers itself; one killed with SIGKILL cannot, and Linux does not end the children of a killed process, so they would
 * train on without it, holding their devices. The launcher names itself in {@link #LAUNCHER_PID}; the worker watches
 * that process and, once it has ended, exits as on SIGTERM (its shutdown hooks run: the trainer saves a checkpoint).
 */
public final class LauncherWatch {

    /** The environment variable holding the launcher's pid, set for every worker it starts. */
    public static final String LAUNCHER_PID = "HIGGS4J_LAUNCHER_PID";

    private LauncherWatch() {}

    /** Starts watching when env names a launcher (a worker of higgs4j launch); otherwise does nothing. */
    public static void startIfLaunched(Map<String, String> env) {
        String pid = env.get(LAUNCHER_PID);
        if (pid == null) return;
        Optional<ProcessHandle> launcher;
        try {
            launcher = ProcessHandle.of(Long.parseLong(pid));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(LAUNCHER_PID + " must be a process id, got '" + pid + "'");
        }
        if (launcher.isEmpty()) {
            launcherGone(pid);
            return;
        }
        launcher.get().onExit().thenRun(() -> launcherGone(pid));
    }

    private static void launcherGone(String pid) {
        System.err.println("[rank " + System.getenv("RANK") + "] the launcher (pid " + pid + ") has ended: stopping");
        System.exit(143); // 128 + SIGTERM: what the launcher's own stop would have led to
    }
}
