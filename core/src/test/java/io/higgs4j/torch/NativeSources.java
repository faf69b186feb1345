package io.higgs4j.torch;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** For the tests that compile native/ with gcc: where the repository is, and running a command that must succeed. */
public final class NativeSources {
    private NativeSources() {}

    /** The repository root (the folder holding native/include), or null when the sources are not here. */
    public static Path repo() {
        Path repo = Path.of("").toAbsolutePath(); // surefire runs in core/, other launchers in the repository root
        while (repo != null && !Files.exists(repo.resolve("native/include/higgs4j_torch.h"))) repo = repo.getParent();
        return repo;
    }

    /** Runs command in dir and returns its output; fails the test if it exits non-zero or runs past 120 s. */
    public static String run(Path dir, List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out: " + command);
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + out);
        return out;
    }
}
