package io.higgs4j.trainer.dist;

import io.higgs4j.trainer.LaunchCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

class LaunchTest {

    static int launch(ByteArrayOutputStream buf, String... args) {
        CommandLine cl = new CommandLine(new LaunchCommand().output(new PrintStream(buf, true, StandardCharsets.UTF_8)));
        cl.setStopAtPositional(true);
        return cl.execute(args);
    }

    @Test
    void aFailingWorkerStopsTheOthers() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        int code = launch(buf, "--nproc_per_node", "3", "--master_port", "0", "--grace_seconds", "5",
                "--worker_main", FakeWorker.class.getName(), "train", "--demo");
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(3, code, out);
        assertTrue((System.nanoTime() - t0) < 30_000_000_000L, "the sleeping workers were stopped: " + out);
        assertTrue(out.contains("[rank 1] failing"), out);
        assertTrue(out.contains("[rank 0] hello from 0 of 3 at 127.0.0.1:"), out);
        assertTrue(out.contains("args train --demo --backend cpu"), out);
        assertTrue(out.contains("[launch] rank 1 exited with code 3: stopping the other workers"), out);
    }

    /** Two worker JVMs train the demo for 2 steps over loopback; rank 0 writes the metrics and the adapter. */
    @Test
    void twoWorkersTrainTheDemo(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code = launch(buf, "--nproc_per_node", "2", "--master_port", "0", "train", "--demo", "--output_dir", dir.toString(),
                "--max_steps", "2", "--save_steps", "0", "--logging_steps", "1");
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, out);
        assertTrue(out.contains("[rank 1] ") && out.contains("rank 1 of 2 (backend cpu)"), out);
        assertEquals(2, Files.readAllLines(dir.resolve("metrics.jsonl")).size(), out);
        assertTrue(Files.exists(dir.resolve("adapter_model.safetensors")), out);
        assertTrue(out.contains("[launch] all 2 workers finished"), out);
    }

    /**
     * SIGTERM to a launcher (a child JVM) while it starts its workers: every worker it started is stopped, the
     * stubborn ones killed after the 1 s grace period, and no stack trace is printed. The tester's run left 5 of 40
     * workers running after a ConcurrentModificationException in the shutdown hook.
     */
    @Test
    void aTerminatedLauncherLeavesNoWorkerRunning(@TempDir Path dir) throws Exception {
        String marker = dir.resolve("launch-stop-marker").toString(); // in each worker's arguments, to find them
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process launcher = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "io.higgs4j.trainer.Main",
                "launch", "--nproc_per_node", "8", "--master_port", "0", "--grace_seconds", "1",
                "--worker_main", StubbornWorker.class.getName(), "train", "--output_dir", marker)
                .redirectErrorStream(true).redirectOutput(dir.resolve("launcher.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (launcher.descendants().findAny().isEmpty() && System.nanoTime() < deadline) Thread.sleep(1);
            launcher.destroy(); // SIGTERM, as soon as the first worker exists
            assertTrue(launcher.waitFor(30, TimeUnit.SECONDS));
            String out = Files.readString(dir.resolve("launcher.log"));
            assertEquals(List.of(), workersOf(marker), "workers left running after the launcher exited: " + out);
            assertEquals(143, launcher.exitValue(), out);
            assertFalse(out.contains("Exception") || out.contains("\tat "), out);
            assertTrue(out.contains("[launch] terminated: stopping the workers"), out);
        } finally {
            launcher.destroyForcibly();
            workersOf(marker).forEach(ProcessHandle::destroyForcibly);
        }
    }

    /** SIGKILL gives the launcher no chance to stop its workers: they see it gone and stop themselves. */
    @Test
    void aKilledLaunchersWorkersStopThemselves(@TempDir Path dir) throws Exception {
        String marker = dir.resolve("launch-kill-marker").toString();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process launcher = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "io.higgs4j.trainer.Main",
                "launch", "--nproc_per_node", "2", "--master_port", "0",
                "--worker_main", WatchingWorker.class.getName(), "train", "--output_dir", marker)
                .redirectErrorStream(true).redirectOutput(dir.resolve("launcher.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (workersOf(marker).size() < 2 && System.nanoTime() < deadline) Thread.sleep(10);
            assertEquals(2, workersOf(marker).size(), Files.readString(dir.resolve("launcher.log")));
            Thread.sleep(1000); // the workers have started their watch
            launcher.destroyForcibly(); // SIGKILL
            assertTrue(launcher.waitFor(30, TimeUnit.SECONDS));
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!workersOf(marker).isEmpty() && System.nanoTime() < deadline) Thread.sleep(50);
            assertEquals(List.of(), workersOf(marker), "workers outlived their killed launcher");
        } finally {
            launcher.destroyForcibly();
            workersOf(marker).forEach(ProcessHandle::destroyForcibly);
        }
    }

    private static List<ProcessHandle> workersOf(String marker) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().arguments().map(a -> List.of(a).contains(marker)).orElse(false))
                .filter(ProcessHandle::isAlive).toList();
    }
}
