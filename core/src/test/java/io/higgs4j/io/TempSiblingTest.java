package io.higgs4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Temporary siblings get the modes of ordinary new files and directories (the umask's), unlike createTemp*'s 0600/0700. */
class TempSiblingTest {

    @Test
    void modesMatchOrdinaryNewFilesAndDirectories(@TempDir Path dir) throws Exception {
        var file = Files.getPosixFilePermissions(Files.createFile(dir.resolve("plain-file")));
        var folder = Files.getPosixFilePermissions(Files.createDirectory(dir.resolve("plain-dir")));
        Path f = TempSibling.file(dir.resolve("sub").resolve("out.json"));
        Path d = TempSibling.directory(dir.resolve("checkpoint-7"));
        assertEquals(file, Files.getPosixFilePermissions(f));
        assertEquals(folder, Files.getPosixFilePermissions(d));
        assertEquals(dir.resolve("sub"), f.getParent(), "beside the target, its folder created");
        assertTrue(f.getFileName().toString().startsWith(".out.json.") && f.getFileName().toString().endsWith(".tmp"), f.toString());
        assertNotEquals(d, TempSibling.directory(dir.resolve("checkpoint-7")), "a new name each time");
    }

    @Test
    void safetensorsOutputGetsOrdinaryModes(@TempDir Path dir) throws Exception {
        var file = Files.getPosixFilePermissions(Files.createFile(dir.resolve("plain-file")));
        try (var s = io.higgs4j.torch.Scope.open()) {
            io.higgs4j.safetensors.SafetensorsWriter.write(dir.resolve("w.safetensors"),
                    java.util.Map.of("x", io.higgs4j.torch.Tensor.of(new float[] {1, 2})));
        }
        assertEquals(file, Files.getPosixFilePermissions(dir.resolve("w.safetensors")));
    }
}
