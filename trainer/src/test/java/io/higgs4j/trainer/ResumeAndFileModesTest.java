package io.higgs4j.trainer;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** What train leaves: files and directories with the user's usual permissions; and --resume's edge cases. */
class ResumeAndFileModesTest {

    @TempDir
    static Path root;
    static Path run;

    @BeforeAll
    static void shortDemoRun() throws Exception {
        run = root.resolve("run");
        TrainCommandTest.Run r = TrainCommandTest.run("train", "--demo", "--output_dir", run.toString(), "--max_steps", "4",
                "--save_steps", "2", "--sample_steps", "0");
        assertEquals(0, r.rc(), r.err());
    }

    /** Every file and folder under dir: its bytes (files) and modification time, to show nothing changed. */
    static Map<String, String> snapshot(Path dir) throws Exception {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                String content = Files.isRegularFile(p) ? java.util.HexFormat.of().formatHex(
                        java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))) : "dir";
                m.put(dir.relativize(p).toString(), content + " " + Files.getLastModifiedTime(p).toMillis());
            }
        }
        return m;
    }

    @Test
    void outputsHaveTheModesOfOrdinaryNewFilesAndDirectories() throws Exception {
        Set<PosixFilePermission> file = Files.getPosixFilePermissions(Files.createFile(root.resolve("fresh-file")));
        Set<PosixFilePermission> dir = Files.getPosixFilePermissions(Files.createDirectory(root.resolve("fresh-dir")));
        for (String f : new String[] {"adapter_config.json", "adapter_model.safetensors", "metrics.jsonl", "checkpoint-4/adapter_config.json",
                "checkpoint-4/adapter_model.safetensors", "checkpoint-4/trainer_state.json", "checkpoint-4/optimizer.safetensors"}) {
            assertEquals(file, Files.getPosixFilePermissions(run.resolve(f)), f);
        }
        for (String d : new String[] {"checkpoint-2", "checkpoint-4"}) assertEquals(dir, Files.getPosixFilePermissions(run.resolve(d)), d);
    }

    @Test
    void resumingAtOrPastMaxStepsHasNothingToDoAndTouchesNothing() throws Exception {
        Map<String, String> before = snapshot(run);
        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        TrainCommandTest.Run r;
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        try {
            r = TrainCommandTest.run("train", "--demo", "--output_dir", run.toString(), "--max_steps", "3", "--resume");
        } finally {
            System.setErr(err);
        }
        assertEquals(0, r.rc(), r.err());
        String said = log.toString(StandardCharsets.UTF_8);
        assertTrue(said.contains("nothing to do: " + run.resolve("checkpoint-4") + " is at step 4 and the run has 3 steps"), said);
        assertFalse(said.contains("done after"), said);
        assertEquals(before, snapshot(run), "no file written or changed");
    }

    @Test
    void resumingWithAnotherRankNamesTheCheckpointsAdapterConfig() throws Exception {
        Map<String, String> before = snapshot(run);
        TrainCommandTest.Run r = TrainCommandTest.run("train", "--demo", "--output_dir", run.toString(), "--max_steps", "6",
                "--lora_r", "8", "--resume");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains(run.resolve("checkpoint-4").resolve("adapter_config.json").toString())
                && r.err().contains("--lora_r 8 but r = 16"), r.err());
        assertEquals(before, snapshot(run));
    }

    @Test
    void aNegativeBatchIndexIsNamed() throws Exception {
        Path copy = root.resolve("copy");
        try (Stream<Path> s = Files.walk(run)) {
            for (Path p : s.toList()) {
                Path to = copy.resolve(run.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(to);
                else Files.copy(p, to);
            }
        }
        Path state = copy.resolve("checkpoint-4").resolve("trainer_state.json");
        Files.writeString(state, Files.readString(state).replaceAll("\"batch_index\" : \\d+", "\"batch_index\" : -3"));
        assertTrue(Files.readString(state).contains("-3"), "the test edited the file");
        TrainCommandTest.Run r = TrainCommandTest.run("train", "--demo", "--output_dir", copy.toString(), "--max_steps", "6", "--resume");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains(state + ": batch_index must be >= 0, got -3"), r.err());
    }
}
