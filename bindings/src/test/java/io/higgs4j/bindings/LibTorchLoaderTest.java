package io.higgs4j.bindings;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class LibTorchLoaderTest {

    private static final ClassLoader HERE = LibTorchLoaderTest.class.getClassLoader();

    private static Path extractInto(Path cache, String name) {
        String old = System.getProperty("higgs4j.cache");
        System.setProperty("higgs4j.cache", cache.toString());
        try {
            return LibTorchLoader.extractCarried(name, HERE);
        } finally {
            if (old == null) System.clearProperty("higgs4j.cache");
            else System.setProperty("higgs4j.cache", old);
        }
    }

    @Test
    void extractsOnceAndReusesACompleteCopy(@TempDir Path cache) throws Exception {
        Path dir = extractInto(cache, "t");
        assertTrue(LibTorchLoader.isComplete(dir));
        for (String f : List.of("libc10.so", "libtorch_cpu.so", "libtorch.so", "libgomp.so.1", "libopenblas.so.0", "libgfortran.so.5")) {
            assertTrue(Files.size(dir.resolve(f)) > 0, f);
        }
        FileTime before = Files.getLastModifiedTime(dir.resolve("libtorch_cpu.so"));
        Thread.sleep(20);
        assertEquals(dir, extractInto(cache, "t"));
        assertEquals(before, Files.getLastModifiedTime(dir.resolve("libtorch_cpu.so")), "a complete copy is not rewritten");
    }

    @Test
    void replacesAHalfWrittenCopy(@TempDir Path cache) throws Exception {
        Path dir = Files.createDirectories(cache.resolve("t"));
        Files.write(dir.resolve("libc10.so"), new byte[100]); // interrupted before the marker was written
        Path fixed = extractInto(cache, "t");
        assertTrue(LibTorchLoader.isComplete(fixed));
        assertTrue(Files.size(fixed.resolve("libc10.so")) > 100);

        // A marker that no longer matches the files (a file truncated afterwards) also means incomplete.
        Files.write(fixed.resolve("libgomp.so.1"), new byte[10]);
        assertFalse(LibTorchLoader.isComplete(fixed));
        assertTrue(LibTorchLoader.isComplete(extractInto(cache, "t")));
    }

    @Test
    void twoJvmsExtractingAtOnceBothSucceed(@TempDir Path cache) throws Exception {
        List<Process> ps = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ProcessBuilder pb = new ProcessBuilder(javaBin(), "-cp", System.getProperty("java.class.path"),
                    "-Dhiggs4j.cache=" + cache, LoaderProbe.class.getName(), "extract", "shared").redirectErrorStream(true);
            ps.add(pb.start());
        }
        for (Process p : ps) {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(300, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("extracted"), out);
        }
        assertTrue(LibTorchLoader.isComplete(cache.resolve("shared")));
        try (Stream<Path> s = Files.list(cache)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().contains(".tmp-")).toList(), "temporary directories left");
        }
    }

    @Test
    void saysWhatWasSearchedWhenNothingIsFound() {
        ClassLoader empty = new URLClassLoader(new URL[0], null);
        var e = assertThrows(LibTorchLoader.LibTorchNotFoundException.class, () -> LibTorchLoader.doLoad(null, empty));
        for (String part : List.of("Searched", "LIBTORCH", "org/bytedeco/pytorch/linux-x86_64/libtorch_cpu.so (missing)",
                "org.bytedeco:pytorch:2.10.0-1.5.13")) {
            assertTrue(e.getMessage().contains(part), e.getMessage());
        }
    }

    @Test
    void aLibtorchDirectoryWithoutTheLibrariesIsNamed(@TempDir Path dir) {
        var e = assertThrows(LibTorchLoader.LibTorchNotFoundException.class, () -> LibTorchLoader.doLoad(dir.toString(), HERE));
        assertTrue(e.getMessage().contains("LIBTORCH=" + dir), e.getMessage());
        assertTrue(e.getMessage().contains("libtorch_cpu.so"), e.getMessage());
    }

    /** A directory with libraries that lack the 2.10 C ABI (built here with gcc) is refused as too old. */
    @Test
    void anOlderLibtorchIsRefused(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/gcc")), "gcc is not installed");
        Path c = Files.writeString(dir.resolve("old.c"), "int at_some_old_function(void) { return 1; }\n");
        for (String lib : List.of("libc10.so", "libtorch_cpu.so")) {
            Process gcc = new ProcessBuilder("/usr/bin/gcc", "-shared", "-fPIC", c.toString(), "-o", dir.resolve(lib).toString())
                    .redirectErrorStream(true).start();
            assertEquals(0, gcc.waitFor());
        }
        ProcessBuilder pb = new ProcessBuilder(javaBin(), "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), LoaderProbe.class.getName(), "load").redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.put("LIBTORCH", dir.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(3, p.exitValue(), out);
        assertTrue(out.contains("older than 2.10"), out);
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

}
