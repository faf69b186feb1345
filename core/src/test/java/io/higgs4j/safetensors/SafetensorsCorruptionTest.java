package io.higgs4j.safetensors;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;

import static io.higgs4j.safetensors.StFiles.*;
import static org.junit.jupiter.api.Assertions.*;

/** Every malformed file is refused at open with a SafetensorsException naming the file and the tensor at fault. */
class SafetensorsCorruptionTest {

    @TempDir
    Path dir;

    private int counter;

    /** Writes bytes to a fresh file, opens it, and checks the refusal names the file, the tensor and the fault. */
    private SafetensorsException refused(byte[] bytes, String tensor, String... fragments) {
        Path file = write(dir.resolve("bad" + (counter++) + ".safetensors"), bytes);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(file).close());
        String msg = e.getMessage();
        assertTrue(msg.startsWith(file.toString() + ": "), "names the file: " + msg);
        assertEquals(file, e.file());
        assertEquals(tensor, e.tensor(), msg);
        if (tensor != null) assertTrue(msg.contains("tensor '" + tensor + "'"), "names the tensor: " + msg);
        for (String f : fragments) assertTrue(msg.contains(f), "'" + f + "' in: " + msg);
        // The checkpoint API refuses it the same way.
        assertThrows(SafetensorsException.class, () -> SafetensorsCheckpoint.open(file).close());
        return e;
    }

    private static byte[] one(String entry, int dataBytes) {
        return StFiles.file("{\"w\":" + entry + "}", new byte[dataBytes]);
    }

    /** A valid file written by the writer: "a" f32[4] then "w" f32[100]. */
    private byte[] valid() throws IOException {
        Path p = dir.resolve("valid.safetensors");
        try (Scope s = Scope.open()) {
            Map<String, Tensor> m = new java.util.LinkedHashMap<>();
            m.put("a", Tensor.ones(4));
            m.put("w", Tensor.ones(100));
            SafetensorsWriter.write(p, m, Map.of());
        }
        return Files.readAllBytes(p);
    }

    @Test
    void truncatedInTheData() throws IOException {
        byte[] ok = valid();
        refused(Arrays.copyOf(ok, ok.length - 10), "w", "run past the end of the data", "truncated");
    }

    @Test
    void truncatedInTheHeader() throws IOException {
        byte[] ok = valid();
        refused(Arrays.copyOf(ok, 8 + 20), null, "runs past the end of the file", "truncated in the header");
    }

    @Test
    void shorterThanTheLengthField() throws IOException {
        refused(Arrays.copyOf(valid(), 5), null, "5 bytes, shorter than the 8-byte");
        refused(new byte[0], null, "0 bytes");
    }

    @Test
    void headerLengthBeyondTheFileOrTheLimit() {
        byte[] h = "{}".getBytes(StandardCharsets.UTF_8);
        refused(raw(1000, h, new byte[40]), null, "header length 1000 runs past the end of the file (50 bytes)");
        refused(raw(100_000_008L, h, new byte[0]), null, "header length 100000008 exceeds the limit");
        refused(raw(-1L, h, new byte[0]), null, "header length 18446744073709551615 exceeds the limit");
        refused(raw(1L << 62, h, new byte[0]), null, "exceeds the limit");
    }

    @Test
    void badJson() {
        refused(StFiles.file("{\"w\":{\"dtype\":\"F32\",", new byte[0]), null, "not valid JSON");
        refused(StFiles.file("[1, 2]", new byte[0]), null, "not a JSON object");
        refused(StFiles.file("   ", new byte[0]), null, "header is empty");
        refused(StFiles.file("{} {}", new byte[0]), null, "not valid JSON");
        refused(StFiles.file("{\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", new byte[4]), null, "not valid JSON", "w");
        byte[] latin = raw(8, new byte[] {'{', '"', (byte) 0xFF, (byte) 0xFE, '"', ':', '1', '}'}, new byte[0]);
        refused(latin, null, "not valid UTF-8");
    }

    @Test
    void unknownOrUnsupportedDtype() {
        refused(one("{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}", 4), "w", "unknown dtype \"F33\"");
        refused(one("{\"dtype\":\"U32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4), "w", "\"U32\"", "does not support");
        refused(one("{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4), "w", "unknown dtype \"f32\"");
        refused(one("{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}", 4), "w", "\"dtype\" must be a string");
        refused(one("{\"shape\":[1],\"data_offsets\":[0,4]}", 4), "w", "\"dtype\" must be a string, got nothing");
    }

    @Test
    void badShape() {
        refused(one("{\"dtype\":\"F32\",\"shape\":[-1,2],\"data_offsets\":[0,0]}", 0), "w", "negative dimension", "[-1, 2]");
        refused(one("{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,10]}", 10), "w", "\"shape\" must hold 64-bit integers");
        refused(one("{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}", 8), "w", "\"shape\"");
        refused(one("{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}", 8), "w", "\"shape\" must be an array");
        refused(one("{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}", 8), "w", "64-bit");
        refused(one("{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,8]}", 8), "w", "overflows");
        refused(one("[1]", 0), "w", "must be an object");
    }

    @Test
    void offsetsOutOfBounds() {
        refused(one("{\"dtype\":\"F32\",\"shape\":[250],\"data_offsets\":[0,1000]}", 16), "w",
                "data_offsets [0, 1000] run past the end of the data (16 bytes");
        refused(one("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}", 16), "w", "not 0 <= begin <= end");
        refused(one("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}", 16), "w", "not 0 <= begin <= end");
        refused(one("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}", 16), "w", "must be [begin, end]");
        refused(one("{\"dtype\":\"F32\",\"shape\":[1]}", 16), "w", "\"data_offsets\" must be an array");
    }

    @Test
    void overlappingOffsets() {
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        refused(StFiles.file(h, new byte[12]), "b", "overlap", "'a' [0, 8]");
        // the same range twice
        String same = "{\"a\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}";
        refused(StFiles.file(same, new byte[8]), "b", "overlap");
        // zero-size tensors overlap nothing
        String empty = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}";
        Path ok = write(dir.resolve("empty-inside.safetensors"), StFiles.file(empty, new byte[8]));
        try (SafetensorsFile f = SafetensorsFile.open(ok)) {
            assertEquals(0, f.info("e").byteSize());
        }
    }

    @Test
    void byteCountNotMatchingShape() {
        refused(one("{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}", 8), "w",
                "hold 8 bytes but shape [3] of F32 needs 12");
        refused(one("{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[0,4]}", 8), "w", "needs 2");
    }

    @Test
    void badMetadata() {
        refused(StFiles.file("{\"__metadata__\":{\"epoch\":1}}", new byte[0]), null, "'epoch' must be a string", "number");
        refused(StFiles.file("{\"__metadata__\":{\"a\":\"b\",\"n\":null}}", new byte[0]), null, "'n' must be a string");
        refused(StFiles.file("{\"__metadata__\":{\"a\":{\"b\":\"c\"}}}", new byte[0]), null, "'a' must be a string");
        refused(StFiles.file("{\"__metadata__\":[\"a\"]}", new byte[0]), null, "must be an object of strings");
    }

    @Test
    void boolBytesOtherThanZeroOrOneAreRefusedAtLoad() {
        Path file = write(dir.resolve("bools.safetensors"), StFiles.file("{\"w\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}}", new byte[] {1, 2, 0}));
        try (Scope s = Scope.open(); SafetensorsFile f = SafetensorsFile.open(file)) {
            var e = assertThrows(SafetensorsException.class, () -> f.load("w"));
            assertTrue(e.getMessage().contains("tensor 'w'") && e.getMessage().contains("element 1 is 2"), e.getMessage());
        }
    }

    @Test
    void fileTruncatedOnDiskAfterOpenFailsTheLoadNotTheJvm() throws IOException {
        Path file = dir.resolve("shrinks.safetensors");
        try (Scope s = Scope.open()) {
            SafetensorsWriter.write(file, Map.of("w", Tensor.zeros(64 * 1024)), Map.of());   // 256 KiB of data
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    ch.truncate(100);
                }
                var e = assertThrows(SafetensorsException.class, () -> f.load("w"));
                assertTrue(e.getMessage().contains("tensor 'w'") && e.getMessage().contains("changed on disk"), e.getMessage());
            }
        }
    }
}
