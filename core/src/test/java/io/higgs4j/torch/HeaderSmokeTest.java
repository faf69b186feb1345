package io.higgs4j.torch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Compiles native/smoke/smoke.c with gcc against our header, links it to the libtorch the tests load, and runs it. */
class HeaderSmokeTest {

    private static String run(Path dir, List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out: " + command);
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + out);
        return out;
    }

    @Test
    void headerMatchesTheLibrary(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/gcc")), "gcc is not installed");
        Path repo = Path.of("").toAbsolutePath(); // surefire runs in core/, other launchers in the repository root
        while (repo != null && !Files.exists(repo.resolve("native/include/higgs4j_torch.h"))) repo = repo.getParent();
        assumeTrue(repo != null, "the native/ sources are not here");
        Path source = repo.resolve("native/smoke/smoke.c");
        Path libs = Torch.info().directory();
        run(tmp, List.of("/usr/bin/gcc", "-std=c11", "-Wall", "-Werror", "-I", repo.resolve("native/include").toString(),
                source.toString(), "-o", "smoke", "-L" + libs, "-ltorch_cpu", "-lc10",
                "-Wl,--disable-new-dtags,-rpath," + libs));
        String out = run(tmp, List.of(tmp.resolve("smoke").toString()));
        assertTrue(out.contains("smoke: OK"), out);
    }
}
