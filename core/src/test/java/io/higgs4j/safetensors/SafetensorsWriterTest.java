package io.higgs4j.safetensors;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.higgs4j.safetensors.StFiles.listDir;
import static org.junit.jupiter.api.Assertions.*;

/** Atomic writes: no temporary file left behind, and a failed write leaves the old file as it was. */
class SafetensorsWriterTest {

    @TempDir
    Path dir;

    @Test
    void successLeavesOnlyTheTargetAndReplacesAnOldFile() {
        Path file = dir.resolve("out.safetensors");
        try (Scope s = Scope.open()) {
            SafetensorsWriter.write(file, Map.of("x", Tensor.ones(3)));
            assertEquals(List.of("out.safetensors"), listDir(dir));
            SafetensorsWriter.write(file, Map.of("y", Tensor.zeros(2)), Map.of("v", "2"));
            assertEquals(List.of("out.safetensors"), listDir(dir));
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertEquals(List.of("y"), f.names());
                assertEquals(Map.of("v", "2"), f.metadata());
            }
        }
        // permissions like any new file's (not Files.createTempFile's owner-only rw-------)
        Path plain = dir.resolve("plain.txt");
        assertDoesNotThrow(() -> Files.createFile(plain));
        assertDoesNotThrow(() -> assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(file)));
        assertDoesNotThrow(() -> Files.delete(plain));
        // parent directories are created
        Path nested = dir.resolve("a/b/c.safetensors");
        try (Scope s = Scope.open()) {
            SafetensorsWriter.write(nested, Map.of("x", Tensor.ones(1)));
        }
        assertEquals(List.of("c.safetensors"), listDir(nested.getParent()));
    }

    @Test
    void failedWriteLeavesTheOldFileIntact() throws IOException {
        Path file = dir.resolve("keep.safetensors");
        try (Scope s = Scope.open()) {
            SafetensorsWriter.write(file, Map.of("x", Tensor.ones(3)), Map.of("version", "1"));
        }
        byte[] old = Files.readAllBytes(file);
        long oldModified = Files.getLastModifiedTime(file).toMillis();

        try (Scope s = Scope.open()) {
            Tensor closed = Tensor.ones(4);
            closed.close();
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("good", Tensor.ones(1000));
            m.put("dead", closed);
            var e = assertThrows(SafetensorsException.class, () -> SafetensorsWriter.write(file, m, Map.of()));
            assertTrue(e.getMessage().contains("tensor 'dead'") && e.getMessage().contains("closed"), e.getMessage());
            assertEquals("dead", e.tensor());

            // a closed tensor whose shape and dtype were cached before closing is refused all the same
            Tensor late = Tensor.ones(8);
            late.shape();
            late.dtype();
            late.device();
            late.close();
            Map<String, Tensor> m2 = new LinkedHashMap<>();
            m2.put("good", Tensor.ones(1000));
            m2.put("late", late);
            e = assertThrows(SafetensorsException.class, () -> SafetensorsWriter.write(file, m2, Map.of()));
            assertTrue(e.getMessage().contains("tensor 'late'"), e.getMessage());

            Map<String, Tensor> reserved = Map.of("__metadata__", Tensor.ones(1));
            e = assertThrows(SafetensorsException.class, () -> SafetensorsWriter.write(file, reserved, Map.of()));
            assertTrue(e.getMessage().contains("reserved"), e.getMessage());

            Map<String, Tensor> ok = Map.of("x", Tensor.ones(1));
            Map<String, String> nullValue = new LinkedHashMap<>();
            nullValue.put("k", null);
            assertThrows(SafetensorsException.class, () -> SafetensorsWriter.write(file, ok, nullValue));

            // sharded: nothing is renamed into place unless every shard was written
            Map<String, Tensor> sharded = new LinkedHashMap<>();
            sharded.put("good", Tensor.ones(1000));
            sharded.put("late", late);
            assertThrows(SafetensorsException.class, () -> SafetensorsWriter.writeSharded(dir, sharded, 100, Map.of()));
        }
        assertArrayEquals(old, Files.readAllBytes(file), "old file untouched");
        assertEquals(oldModified, Files.getLastModifiedTime(file).toMillis());
        assertEquals(List.of("keep.safetensors"), listDir(dir), "no temporary file left behind");
        try (Scope s = Scope.open(); SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new float[] {1, 1, 1}, f.load("x").toFloatArray());
        }
    }

    @Test
    void failureAfterTheDataIsWrittenRemovesTheTemporaryFile() throws IOException {
        // The target is a non-empty directory: the whole file is written to the temporary file, then the rename fails.
        Path target = dir.resolve("taken.safetensors");
        Files.createDirectory(target);
        Files.writeString(target.resolve("inside.txt"), "precious");
        try (Scope s = Scope.open()) {
            var e = assertThrows(SafetensorsException.class,
                    () -> SafetensorsWriter.write(target, Map.of("x", Tensor.ones(1000)), Map.of()));
            assertTrue(e.getMessage().contains("rename"), e.getMessage());
        }
        assertEquals(List.of("taken.safetensors"), listDir(dir), "no temporary file left behind");
        assertEquals("precious", Files.readString(target.resolve("inside.txt")));
    }
}
