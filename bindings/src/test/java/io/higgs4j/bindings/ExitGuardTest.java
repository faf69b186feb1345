package io.higgs4j.bindings;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * JVM exit (SIGTERM, System.exit) during System.load of libtorch ran libtorch's static destructors while its
 * initializers still ran, and crashed (scripts/exit-during-load.sh shows it). The race itself is too rare to test
 * for; these check the two facts that rule it out, in child JVMs: exit waits for a load in progress, and no load
 * starts once exit has begun.
 */
class ExitGuardTest {

    private static String[] run(String mode) throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                ExitGuardProbe.class.getName(), mode).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), out);
        return new String[]{Integer.toString(p.exitValue()), out};
    }

    @Test
    void exitWaitsForALoadInProgress() throws Exception {
        String[] r = run("exit-while-loading");
        assertEquals("143", r[0], r[1]);
        assertTrue(r[1].contains("loading\nload returned\n"), "System.exit(143) came while loading: " + r[1]);
    }

    @Test
    void noLoadStartsOnceExitHasBegun() throws Exception {
        String[] r = run("load-in-shutdown");
        assertEquals("143", r[0], r[1]);
        assertTrue(r[1].contains("loading\n"), r[1]);
        // libtorch loads in about a second here, so it would have loaded within the 5 s the exit takes
        assertFalse(r[1].contains("loaded"), "libtorch loaded while the JVM was exiting: " + r[1]);
        assertFalse(r[1].contains("Exception"), r[1]);
    }
}
