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
}
