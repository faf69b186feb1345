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

    @Test
    void headerMatchesTheLibrary(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/gcc")), "gcc is not installed");
        Path repo = NativeSources.repo();
        assumeTrue(repo != null, "the native/ sources are not here");
        Path source = repo.resolve("native/smoke/smoke.c");
        Path libs = Torch.info().directory();
        NativeSources.run(tmp, List.of("/usr/bin/gcc", "-std=c11", "-Wall", "-Werror", "-I", repo.resolve("native/include").toString(),
                source.toString(), "-o", "smoke", "-L" + libs, "-ltorch_cpu", "-lc10",
                "-Wl,--disable-new-dtags,-rpath," + libs));
        String out = NativeSources.run(tmp, List.of(tmp.resolve("smoke").toString()));
        assertTrue(out.contains("smoke: OK"), out);
    }
}
