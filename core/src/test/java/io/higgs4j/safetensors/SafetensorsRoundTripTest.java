package io.higgs4j.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.higgs4j.safetensors.StFiles.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class SafetensorsRoundTripTest {

    @TempDir
    Path dir;

    @Test
    void everyDtypeRoundTripsExactly() throws IOException {
        float[] f32 = {1.5f, -0.0f, Float.MIN_VALUE, Float.MAX_VALUE, -3.25e-7f, Float.POSITIVE_INFINITY};
        double[] f64 = {Math.PI, -1e300, 4.9e-324, 0.0, -7.5, 1.0 / 3};
        short[] bf16 = {bf16Truncate(1.0f), bf16Truncate(-2.5f), bf16Truncate((float) Math.E), bf16Truncate(1e-39f),
                bf16Truncate(3.0e38f), bf16Truncate(-0.0f)};
        short[] f16 = {Float.floatToFloat16(1.0f), Float.floatToFloat16(-65504f), Float.floatToFloat16(6.0e-8f),
                Float.floatToFloat16(0.333f), Float.floatToFloat16(1024.5f), Float.floatToFloat16(-0.0f)};
        long[] i64 = {Long.MIN_VALUE, Long.MAX_VALUE, 0, -1, 1L << 40, 42};
        int[] i32 = {Integer.MIN_VALUE, Integer.MAX_VALUE, 0, -1, 1 << 20, 42};
        short[] i16 = {Short.MIN_VALUE, Short.MAX_VALUE, 0, -1, 1234, -4321};
        byte[] i8 = {Byte.MIN_VALUE, Byte.MAX_VALUE, 0, -1, 12, -34};
        byte[] u8 = {0, (byte) 255, (byte) 128, 1, 127, (byte) 200};
        boolean[] bools = {true, false, false, true, true, false};
        Path file = dir.resolve("all.safetensors");
        List<String> order = List.of("u8", "f32", "bool", "f64", "bf16", "f16", "i64", "i32", "i16", "i8");

        long before = Tensor.liveCount();
        try (Scope s = Scope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("u8", ofBytes(u8, DType.UINT8, 2, 3));
            tensors.put("f32", Tensor.of(f32, 3, 2));
            tensors.put("bool", Tensor.of(bools, 6));
            tensors.put("f64", Tensor.of(f64, 1, 6));
            tensors.put("bf16", ofShorts(bf16, DType.BFLOAT16, 2, 3));
            tensors.put("f16", ofShorts(f16, DType.FLOAT16, 6));
            tensors.put("i64", Tensor.of(i64, 6, 1));
            tensors.put("i32", Tensor.of(i32, 2, 1, 3));
            tensors.put("i16", ofShorts(i16, DType.INT16, 6));
            tensors.put("i8", ofBytes(i8, DType.INT8, 3, 2));
            SafetensorsWriter.write(file, tensors, Map.of());

            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertEquals(order, f.names(), "header keeps the map's order");
                assertEquals(Map.of(), f.metadata());
                for (String name : order) {
                    Tensor t = f.load(name);
                    TensorInfo info = f.info(name);
                    assertArrayEquals(tensors.get(name).shape(), t.shape(), name);
                    assertArrayEquals(tensors.get(name).shape(), info.shape(), name);
                    assertEquals(tensors.get(name).dtype(), t.dtype(), name);
                    assertEquals(t.dtype(), info.dtype(), name);
                    assertEquals(6L * t.dtype().elementSize(), info.byteSize(), name);
                }
                assertArrayEquals(f32, f.load("f32").toFloatArray());
                assertArrayEquals(f64, f.load("f64").toDoubleArray());
                assertArrayEquals(bf16, shorts(f.load("bf16")));
                assertArrayEquals(f16, shorts(f.load("f16")));
                assertArrayEquals(i64, f.load("i64").toLongArray());
                assertArrayEquals(i32, f.load("i32").toIntArray());
                assertArrayEquals(i16, shorts(f.load("i16")));
                assertArrayEquals(i8, bytes(f.load("i8")));
                assertArrayEquals(u8, bytes(f.load("u8")));
                assertArrayEquals(bools, f.load("bool").toBooleanArray());
                // values, not just bits, through torch's own conversions
                float[] bfAsFloat = f.load("bf16").toFloatArray();
                float[] f16AsFloat = f.load("f16").toFloatArray();
                for (int i = 0; i < 6; i++) {
                    assertEquals(bf16ToFloat(bf16[i]), bfAsFloat[i]);
                    assertEquals(Float.float16ToFloat(f16[i]), f16AsFloat[i]);
                }
                int[] u8AsInt = f.load("u8").toIntArray();
                for (int i = 0; i < 6; i++) assertEquals(u8[i] & 0xFF, u8AsInt[i]);
            }
        }
        assertEquals(before, Tensor.liveCount(), "every tensor freed by the scope");

        // The layout the reference expects: header a multiple of 8 padded with spaces, every tensor aligned to its
        // element size, data contiguous from 0 to the end of the file.
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, n % 8);
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{"));
        JsonNode root = new ObjectMapper().readTree(header);
        long covered = 0;
        for (String name : order) {
            JsonNode e = root.get(name);
            long begin = e.get("data_offsets").get(0).asLong(), end = e.get("data_offsets").get(1).asLong();
            DType dt = DType.parse(e.get("dtype").asText().equals("BOOL") ? "bool" : e.get("dtype").asText());
            assertEquals(0, begin % dt.elementSize(), name + " aligned");
            covered += end - begin;
        }
        assertEquals(bytes.length - 8 - n, covered, "no gaps");
    }

    @Test
    void metadataRoundTrips() {
        Path file = dir.resolve("meta.safetensors");
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("step", "1200");
        meta.put("unicode \"quoted\" ключ", "ünïcødé ✓\nnew line");
        meta.put("", "empty key");
        try (Scope s = Scope.open()) {
            SafetensorsWriter.write(file, Map.of("x", Tensor.ones(2)), meta);
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(meta, f.metadata());
            assertEquals(List.copyOf(meta.keySet()), List.copyOf(f.metadata().keySet()), "order kept");
        }
        try (Scope s = Scope.open()) {
            SafetensorsWriter.write(file, Map.of("x", Tensor.ones(2)), null);
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertTrue(f.metadata().isEmpty());
        }
    }

    @Test
    void bf16LoadsAsFloat32AndFloat32AsBf16() {
        Path bfFile = dir.resolve("bf.safetensors");
        Path fFile = dir.resolve("f.safetensors");
        short[] bf = {bf16Truncate(1.0f), bf16Truncate(-3.140625f), bf16Truncate(1e-38f), bf16Truncate(2.5e20f)};
        // halfway cases (ties to even), ordinary roundings, a subnormal
        float[] f = {1.00390625f, 1.01171875f, 3.3f, -0.1f, 1e-40f, 65536.5f};
        long before = Tensor.liveCount();
        try (Scope s = Scope.open()) {
            SafetensorsWriter.write(bfFile, Map.of("w", ofShorts(bf, DType.BFLOAT16, 2, 2)), Map.of());
            SafetensorsWriter.write(fFile, Map.of("w", Tensor.of(f, 6)), Map.of());
            try (SafetensorsFile file = SafetensorsFile.open(bfFile)) {
                Tensor master = file.load("w", DType.FLOAT32);
                assertEquals(DType.FLOAT32, master.dtype());
                assertArrayEquals(new long[] {2, 2}, master.shape());
                float[] got = master.toFloatArray();
                for (int i = 0; i < bf.length; i++) assertEquals(bf16ToFloat(bf[i]), got[i], "exact widening");
                // and back: fp32 master weights saved as bf16 give the original bits
                Path again = dir.resolve("again.safetensors");
                SafetensorsWriter.write(again, Map.of("w", master.to(DType.BFLOAT16)), Map.of());
                try (SafetensorsFile back = SafetensorsFile.open(again)) {
                    assertEquals(DType.BFLOAT16, back.info("w").dtype());
                    assertArrayEquals(bf, shorts(back.load("w")));
                }
                Tensor same = file.load("w", DType.BFLOAT16);
                assertArrayEquals(bf, shorts(same), "no conversion when the dtype already matches");
            }
            try (SafetensorsFile file = SafetensorsFile.open(fFile)) {
                Tensor narrowed = file.load("w", DType.BFLOAT16);
                assertEquals(DType.BFLOAT16, narrowed.dtype());
                short[] bits = shorts(narrowed);
                for (int i = 0; i < f.length; i++) {
                    assertEquals(bf16Round(f[i]), bits[i], "round to nearest even of " + f[i]);
                }
                assertEquals(bf16ToFloat((short) 0x3F80), bf16ToFloat(bits[0]), "1+2^-8 ties down to 1");
            }
        }
        assertEquals(before, Tensor.liveCount(), "the file-dtype copy is freed; the scope frees the rest");
    }

    @Test
    void nonContiguousAndLargeTensorsAreWrittenRowMajor() {
        Path file = dir.resolve("nc.safetensors");
        try (Scope s = Scope.open()) {
            Tensor small = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).transpose(0, 1);   // [[1,4],[2,5],[3,6]]
            // 10 MB: more than the writer's 8 MB chunk, non-contiguous
            Tensor big = Tensor.rand(1000, 2500).transpose(0, 1);
            Tensor bigContig = Tensor.randn(1_100_000).to(DType.FLOAT64);      // 8.8 MB contiguous, chunked
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("small", small);
            m.put("big", big);
            m.put("bigContig", bigContig);
            SafetensorsWriter.write(file, m, Map.of());
            assertFalse(small.isContiguous(), "the writer leaves its input as it was");
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertArrayEquals(new long[] {3, 2}, f.info("small").shape());
                assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, f.load("small").toFloatArray());
                assertArrayEquals(new long[] {2500, 1000}, f.info("big").shape());
                assertArrayEquals(big.toFloatArray(), f.load("big").toFloatArray());
                assertArrayEquals(bigContig.toDoubleArray(), f.load("bigContig").toDoubleArray());
            }
        }
    }

    /** Runs where a CUDA libtorch is loaded (the GPU check); skipped elsewhere. */
    @Test
    void cudaTensorsAreWrittenFromTheDeviceAndLoadedBackToIt() {
        assumeTrue(Torch.cudaAvailable(), "CUDA is not available");
        Device cuda = Device.cuda(0);
        Path file = dir.resolve("cuda.safetensors");
        try (Scope s = Scope.open()) {
            Tensor cpu = Tensor.randn(64, 48).to(DType.BFLOAT16);
            Tensor onDevice = cpu.to(cuda).transpose(0, 1);                    // non-contiguous, on the GPU
            Tensor big = Tensor.randn(1_100_000).to(cuda, DType.FLOAT64);     // 8.8 MB: copied to the host in chunks
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("t", onDevice);
            m.put("big", big);
            SafetensorsWriter.write(file, m, Map.of());
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertEquals(new TensorInfo(DType.BFLOAT16, new long[] {48, 64}, 48 * 64 * 2), f.info("t"));
                assertArrayEquals(shorts(cpu.transpose(0, 1)), shorts(f.load("t")));
                assertArrayEquals(big.toDoubleArray(), f.load("big").toDoubleArray());
                Tensor back = f.load("t", DType.FLOAT32).to(cuda);
                assertEquals(cuda, back.device());
                assertArrayEquals(cpu.transpose(0, 1).toFloatArray(), back.toFloatArray());
            }
        }
    }

    @Test
    void copyToRefusesADestinationOfTheWrongSize() {
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.ones(3);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> t.copyTo(java.lang.foreign.MemorySegment.ofArray(new float[4])));
            assertTrue(e.getMessage().contains("16 bytes") && e.getMessage().contains("12"), e.getMessage());
            Tensor empty = Tensor.zeros(0);
            assertDoesNotThrow(() -> empty.copyTo(java.lang.foreign.MemorySegment.ofArray(new float[0])));
        }
    }

    @Test
    void emptyMapWritesAValidEmptyFile() {
        Path file = dir.resolve("none.safetensors");
        SafetensorsWriter.write(file, Map.of(), Map.of("k", "v"));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of(), f.names());
            assertEquals(Map.of("k", "v"), f.metadata());
            assertEquals(0, f.dataBytes());
        }
    }

    @Test
    void unknownNameAndUseAfterCloseAreReported() {
        Path file = dir.resolve("x.safetensors");
        try (Scope s = Scope.open()) {
            SafetensorsWriter.write(file, Map.of("x", Tensor.ones(2)), Map.of());
            SafetensorsFile f = SafetensorsFile.open(file);
            Tensor kept = f.load("x");
            var e = assertThrows(SafetensorsException.class, () -> f.load("y"));
            assertTrue(e.getMessage().contains("'y'") && e.getMessage().contains("x.safetensors"), e.getMessage());
            f.close();
            f.close();
            assertArrayEquals(new float[] {1, 1}, kept.toFloatArray(), "loaded tensors own their memory");
            e = assertThrows(SafetensorsException.class, () -> f.load("x"));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
    }
}
