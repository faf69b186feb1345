package io.higgs4j.bindings;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The search order and messages of NcclLoader, with fake libraries: no NCCL and no GPU needed. */
class NcclLoaderTest {

    private static final NcclLoader.LibraryLoad FAKE_2_18_3 = p -> 21803;

    /** A PyTorch-like tree: site-packages/torch/lib with libtorch in it, site-packages/nvidia/nccl/lib beside. */
    private static Path torchLib(Path root) throws Exception {
        Path lib = Files.createDirectories(root.resolve("site-packages/torch/lib"));
        Files.write(lib.resolve("libc10.so"), new byte[1]);
        Files.write(lib.resolve("libtorch_cpu.so"), new byte[1]);
        return lib;
    }

    private static Path nvidiaNccl(Path root) throws Exception {
        Path dir = Files.createDirectories(root.resolve("site-packages/nvidia/nccl/lib"));
        return Files.write(dir.resolve(NcclLoader.SONAME), new byte[1]);
    }

    @Test
    void missingEverywhereListsEveryPlaceSearched(@TempDir Path root) throws Exception {
        Path lib = torchLib(root);
        List<String> asked = new ArrayList<>();
        var e = assertThrows(NcclLoader.NcclNotFoundException.class,
                () -> NcclLoader.doLoad(lib, null, name -> { asked.add(name); return null; }, FAKE_2_18_3));
        String m = e.getMessage();
        assertTrue(m.contains("NCCL_LIBRARY"), m);
        assertTrue(m.contains(lib.resolve(NcclLoader.SONAME).toString()), m);
        assertTrue(m.contains(root.resolve("site-packages/nvidia/nccl/lib").resolve(NcclLoader.SONAME).toString()), m);
        assertTrue(m.contains("system library path"), m);
        assertTrue(m.contains("pip install nvidia-nccl"), "says how to fix it: " + m);
        assertEquals(List.of(NcclLoader.SONAME), asked, "the system path is asked by soname, last");
    }

    @Test
    void nextToLibtorchComesBeforePytorchsNvidiaPackage(@TempDir Path root) throws Exception {
        Path lib = torchLib(root);
        Path nvidia = nvidiaNccl(root);
        Path beside = Files.write(lib.resolve(NcclLoader.SONAME), new byte[1]);
        List<Path> loadedFiles = new ArrayList<>();
        NcclLoader.LibraryLoad record = p -> { loadedFiles.add(p); return 21803; };

        NcclLoader.Loaded l = NcclLoader.doLoad(lib, null, n -> fail("system path asked"), record);
        assertEquals(beside.toAbsolutePath().normalize(), l.library());

        Files.delete(beside);
        l = NcclLoader.doLoad(lib, null, n -> fail("system path asked"), record);
        assertEquals(nvidia.toAbsolutePath().normalize(), l.library());
        assertEquals(2, loadedFiles.size());
    }

    @Test
    void systemPathIsTheLastResort(@TempDir Path root) throws Exception {
        Path lib = torchLib(root);
        Path system = Files.write(Files.createDirectories(root.resolve("usr/lib")).resolve(NcclLoader.SONAME), new byte[1]);
        NcclLoader.Loaded l = NcclLoader.doLoad(lib, null, n -> system, FAKE_2_18_3);
        assertEquals(system, l.library());
        assertEquals("system library path", l.source());
    }

    @Test
    void overrideWinsAndAWrongOneIsReported(@TempDir Path root) throws Exception {
        Path lib = torchLib(root);
        Files.write(lib.resolve(NcclLoader.SONAME), new byte[1]);
        Path custom = Files.createDirectories(root.resolve("custom"));
        Path file = Files.write(custom.resolve(NcclLoader.SONAME), new byte[1]);

        assertEquals(file, NcclLoader.doLoad(lib, custom.toString(), n -> null, FAKE_2_18_3).library(), "a directory");
        assertEquals(file, NcclLoader.doLoad(lib, file.toString(), n -> null, FAKE_2_18_3).library(), "the file");

        var e = assertThrows(NcclLoader.NcclNotFoundException.class,
                () -> NcclLoader.doLoad(lib, root.resolve("nowhere").toString(), n -> null, FAKE_2_18_3));
        assertTrue(e.getMessage().contains("NCCL_LIBRARY=" + root.resolve("nowhere")), e.getMessage());
    }

    @Test
    void aFileThatDoesNotLoadIsReportedWithItsPath(@TempDir Path root) throws Exception {
        Path lib = torchLib(root);
        Path beside = Files.write(lib.resolve(NcclLoader.SONAME), new byte[1]);
        var e = assertThrows(NcclLoader.NcclNotFoundException.class, () -> NcclLoader.doLoad(lib, null, n -> null,
                p -> { throw new UnsatisfiedLinkError("invalid ELF header"); }));
        assertTrue(e.getMessage().contains(beside.toAbsolutePath().normalize().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("invalid ELF header"), e.getMessage());
    }

    @Test
    void versionCodes() {
        var v = new NcclLoader.Loaded("x", Path.of("/x"), 21803);
        assertEquals("2.18.3", v.version());
        var old = new NcclLoader.Loaded("x", Path.of("/x"), 2708); // before 2.9: major*1000 + minor*100 + patch
        assertEquals("2.7.8", old.version());
        var e = assertThrows(NcclLoader.NcclNotFoundException.class,
                () -> NcclLoader.doLoad(null, null, n -> Path.of("/x"), p -> 10203));
        assertTrue(e.getMessage().contains("1.2.3"), e.getMessage());
    }

    @Test
    void resolvingAMissingSonameAnswersNull() {
        assertNull(NcclLoader.resolveByName("libhiggs4j-no-such-library.so.7"));
    }
}
