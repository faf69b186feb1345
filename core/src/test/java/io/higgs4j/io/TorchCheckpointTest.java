package io.higgs4j.io;

import io.higgs4j.io.TorchCheckpoint.TorchCheckpointException;
import io.higgs4j.safetensors.SafetensorsFile;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Reads the checkpoints written by src/test/resources/torch-checkpoints/make_fixtures.py (torch.save, torch 2.13) and
 * checks every value against the formula the script used, computed here in Java.
 */
class TorchCheckpointTest {

    @TempDir
    Path dir;

    static Path fixture(String name) {
        URL url = TorchCheckpointTest.class.getResource("/torch-checkpoints/" + name);
        assertNotNull(url, "fixture " + name + " is missing; run make_fixtures.py");
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    static float[] floats(int n, java.util.function.IntToDoubleFunction f) {
        float[] out = new float[n];
        for (int k = 0; k < n; k++) out[k] = (float) f.applyAsDouble(k);
        return out;
    }

    static short[] shorts(Tensor t) {
        short[] out = new short[(int) t.numel()];
        t.copyTo(MemorySegment.ofArray(out));
        return out;
    }

    @Test
    void everyDtypeWithItsValues() {
        long before = Tensor.liveCount();
        try (TorchCheckpoint ck = TorchCheckpoint.open(fixture("dtypes.pth")); Scope s = Scope.open()) {
            assertEquals(List.of("f32", "f64", "bf16", "f16", "i64", "i32", "i16", "i8", "u8", "bool", "scalar", "empty"),
                    ck.names());
            assertEquals(fixture("dtypes.pth"), ck.path());

            assertEquals(DType.FLOAT32, ck.dtype("f32"));
            assertArrayEquals(new long[] {3, 4}, ck.shape("f32"));
            Tensor f32 = ck.load("f32");
            assertEquals(DType.FLOAT32, f32.dtype());
            assertArrayEquals(new long[] {3, 4}, f32.shape());
            assertArrayEquals(floats(12, k -> k * 0.5), f32.toFloatArray());

            assertEquals(DType.FLOAT64, ck.dtype("f64"));
            assertArrayEquals(new long[] {5, 1}, ck.shape("f64"));
            double[] f64 = new double[5];
            for (int k = 0; k < 5; k++) f64[k] = k / 8.0;
            assertArrayEquals(f64, ck.load("f64").toDoubleArray());

            assertEquals(DType.BFLOAT16, ck.dtype("bf16"));
            assertArrayEquals(new long[] {2, 2, 2}, ck.shape("bf16"));
            float[] bf = floats(8, k -> k * 0.25 - 1);
            short[] bfBits = new short[8];
            for (int k = 0; k < 8; k++) bfBits[k] = (short) (Float.floatToRawIntBits(bf[k]) >>> 16);   // exact in bf16
            assertArrayEquals(bfBits, shorts(ck.load("bf16")), "raw bfloat16 bits");
            Tensor bfAsF32 = ck.load("bf16", DType.FLOAT32);
            assertEquals(DType.FLOAT32, bfAsF32.dtype());
            assertArrayEquals(bf, bfAsF32.toFloatArray());

            assertEquals(DType.FLOAT16, ck.dtype("f16"));
            assertArrayEquals(new long[] {6}, ck.shape("f16"));
            float[] h = floats(6, k -> 1.5 * k - 2);
            short[] hBits = new short[6];
            for (int k = 0; k < 6; k++) hBits[k] = Float.floatToFloat16(h[k]);
            assertArrayEquals(hBits, shorts(ck.load("f16")), "raw float16 bits");
            assertArrayEquals(h, ck.load("f16", DType.FLOAT32).toFloatArray());

            long[] i64 = new long[6];
            for (int k = 0; k < 6; k++) i64[k] = 1000000007L * k - 5;
            assertEquals(DType.INT64, ck.dtype("i64"));
            assertArrayEquals(new long[] {2, 3}, ck.shape("i64"));
            assertArrayEquals(i64, ck.load("i64").toLongArray());

            assertEquals(DType.INT32, ck.dtype("i32"));
            assertArrayEquals(new int[] {0, -3, -6, -9}, ck.load("i32").toIntArray());
            assertEquals(DType.INT16, ck.dtype("i16"));
            assertArrayEquals(new long[] {300, 301, 302}, ck.load("i16", DType.INT64).toLongArray());
            assertEquals(DType.INT8, ck.dtype("i8"));
            assertArrayEquals(new long[] {-2, -1, 0, 1}, ck.load("i8", DType.INT64).toLongArray());
            assertEquals(DType.UINT8, ck.dtype("u8"));
            assertArrayEquals(new long[] {0, 50, 100, 150, 200}, ck.load("u8", DType.INT64).toLongArray());

            assertEquals(DType.BOOL, ck.dtype("bool"));
            boolean[] bools = new boolean[7];
            for (int k = 0; k < 7; k++) bools[k] = k % 3 == 0;
            assertArrayEquals(bools, ck.load("bool").toBooleanArray());

            assertArrayEquals(new long[0], ck.shape("scalar"));
            Tensor scalar = ck.load("scalar");
            assertEquals(0, scalar.dim());
            assertEquals(2.5, scalar.item());

            assertArrayEquals(new long[] {0, 3}, ck.shape("empty"));
            Tensor empty = ck.load("empty");
            assertArrayEquals(new long[] {0, 3}, empty.shape());
            assertEquals(0, empty.numel());
        }
        assertEquals(before, Tensor.liveCount(), "every tensor freed with its scope");
    }

    @Test
    void viewsAreCopiedWithTheirOffsetsAndStrides() {
        try (TorchCheckpoint ck = TorchCheckpoint.open(fixture("views.pth")); Scope s = Scope.open()) {
            assertEquals(List.of("base", "transposed", "row2", "col1", "block", "expanded", "head", "tail"), ck.names());
            float[] base = floats(24, k -> k);   // element (r, c) of the 4x6 base is 6r + c
            assertArrayEquals(base, ck.load("base").toFloatArray());

            Tensor t = ck.load("transposed");
            assertArrayEquals(new long[] {6, 4}, t.shape());
            assertTrue(t.isContiguous());
            float[] expected = new float[24];
            for (int i = 0; i < 6; i++) for (int j = 0; j < 4; j++) expected[i * 4 + j] = 6 * j + i;
            assertArrayEquals(expected, t.toFloatArray());

            assertArrayEquals(floats(6, c -> 12 + c), ck.load("row2").toFloatArray());
            assertArrayEquals(floats(4, r -> 6 * r + 1), ck.load("col1").toFloatArray());
            Tensor block = ck.load("block");
            assertArrayEquals(new long[] {2, 3}, block.shape());
            assertArrayEquals(new float[] {8, 9, 10, 14, 15, 16}, block.toFloatArray());
            Tensor expanded = ck.load("expanded");
            assertArrayEquals(new long[] {2, 6}, expanded.shape());
            assertArrayEquals(new float[] {18, 19, 20, 21, 22, 23, 18, 19, 20, 21, 22, 23}, expanded.toFloatArray());

            assertEquals(DType.INT64, ck.dtype("head"));
            assertArrayEquals(new long[] {0, 7, 14, 21}, ck.load("head").toLongArray());
            assertArrayEquals(new long[] {42, 49, 56, 63}, ck.load("tail").toLongArray());
        }
    }

    static final List<String> MODULE_NAMES = List.of("lin.bias", "lin.weight_g", "lin.weight_v", "conv.bias",
            "conv.weight_g", "conv.weight_v", "norm.weight", "norm.bias", "norm.running_mean", "norm.running_var",
            "norm.num_batches_tracked");
    static final long[][] MODULE_SHAPES = {{2}, {2, 1}, {2, 3}, {4}, {4, 1, 1}, {4, 2, 3}, {4}, {4}, {4}, {4}, {}};

    /** What make_fixtures.py wrote into state-dict tensor i of n elements: (k - n / 2) * 0.125 * (i + 1). */
    static double[] moduleValues(int i, long[] shape) {
        int n = 1;
        for (long d : shape) n *= (int) d;
        double[] v = new double[n];
        for (int k = 0; k < n; k++) v[k] = (k - n / 2) * 0.125 * (i + 1);
        return v;
    }

    @Test
    void moduleStateDictWithWeightNorm() {
        try (TorchCheckpoint ck = TorchCheckpoint.open(fixture("module.pth")); Scope s = Scope.open()) {
            assertEquals(MODULE_NAMES, ck.names(), "OrderedDict order; _metadata is not a tensor");
            for (int i = 0; i < MODULE_NAMES.size(); i++) {
                String name = MODULE_NAMES.get(i);
                assertArrayEquals(MODULE_SHAPES[i], ck.shape(name), name);
                assertEquals(name.endsWith("num_batches_tracked") ? DType.INT64 : DType.FLOAT32, ck.dtype(name), name);
                assertArrayEquals(moduleValues(i, MODULE_SHAPES[i]), ck.load(name, DType.FLOAT64).toDoubleArray(), name);
            }
        }
    }

    @Test
    void protocol5() {
        try (TorchCheckpoint ck = TorchCheckpoint.open(fixture("protocol5.pth")); Scope s = Scope.open()) {
            assertEquals(List.of("f32", "bf16", "tail"), ck.names());
            assertArrayEquals(floats(12, k -> k * 0.5), ck.load("f32").toFloatArray());
            assertArrayEquals(floats(8, k -> k * 0.25 - 1), ck.load("bf16", DType.FLOAT32).toFloatArray());
            assertArrayEquals(new long[] {42, 49, 56, 63}, ck.load("tail").toLongArray());
        }
    }

    @Test
    void trainingCheckpointUsesItsModelEntry() {
        try (TorchCheckpoint ck = TorchCheckpoint.open(fixture("nested.pth")); Scope s = Scope.open()) {
            assertEquals(List.of("w", "b"), ck.names());
            assertArrayEquals(new float[] {0, 0.5f, 1}, ck.load("w").toFloatArray(), "an nn.Parameter");
            assertArrayEquals(new float[] {1, 2}, ck.load("b").toFloatArray(), "a tensor with a Python attribute");
        }
    }

    @Test
    void unknownTensorAndClosedCheckpoint() {
        TorchCheckpoint ck = TorchCheckpoint.open(fixture("module.pth"));
        assertFalse(ck.contains("nope"));
        var e = assertThrows(TorchCheckpointException.class, () -> ck.load("nope"));
        assertTrue(e.getMessage().contains("module.pth") && e.getMessage().contains("'nope'"), e.getMessage());
        assertEquals("nope", e.tensor());
        ck.close();
        ck.close();
        e = assertThrows(TorchCheckpointException.class, () -> ck.load("lin.bias"));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    /**
     * Writes every tensor of a checkpoint into one .safetensors file with the metadata Hugging Face's converters write
     * (format=pt), the way a user would convert a .pth: same names, order, dtypes, shapes and values.
     */
    static void convert(CheckpointReader checkpoint, Path file) {
        try (Scope scope = Scope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String n : checkpoint.names()) tensors.put(n, checkpoint.load(n));
            SafetensorsWriter.write(file, tensors, Map.of("format", "pt"));
        }
    }

    @Test
    void convertsToSafetensors() {
        Path out = dir.resolve("module.safetensors");
        try (TorchCheckpoint ck = TorchCheckpoint.open(fixture("module.pth"))) {
            convert(ck, out);
        }
        try (SafetensorsFile st = SafetensorsFile.open(out); Scope s = Scope.open()) {
            assertEquals(MODULE_NAMES, st.names());
            assertEquals(Map.of("format", "pt"), st.metadata());
            for (int i = 0; i < MODULE_NAMES.size(); i++) {
                String name = MODULE_NAMES.get(i);
                assertArrayEquals(MODULE_SHAPES[i], st.info(name).shape(), name);
                assertEquals(name.endsWith("num_batches_tracked") ? DType.INT64 : DType.FLOAT32, st.info(name).dtype(), name);
                assertArrayEquals(moduleValues(i, MODULE_SHAPES[i]), st.load(name, DType.FLOAT64).toDoubleArray(), name);
            }
        }
    }

    // ---- broken files ----

    static TorchCheckpointException fails(Path file, String... fragments) {
        long before = Tensor.liveCount();
        var e = assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(file).close());
        String m = e.getMessage();
        assertTrue(m.startsWith(file.toString() + ": "), "message names the file: " + m);
        for (String f : fragments) assertTrue(m.contains(f), "message should contain '" + f + "': " + m);
        assertEquals(before, Tensor.liveCount());
        return e;
    }

    /** A copy of a zip with each record's bytes passed through edit (null drops it), written as stored records. */
    static Path rewrite(Path src, Path dst, BiFunction<String, byte[], byte[]> edit) throws IOException {
        try (ZipFile in = new ZipFile(src.toFile()); OutputStream os = Files.newOutputStream(dst);
             ZipOutputStream out = new ZipOutputStream(os)) {
            Enumeration<? extends ZipEntry> all = in.entries();
            while (all.hasMoreElements()) {
                ZipEntry e = all.nextElement();
                byte[] data = edit.apply(e.getName(), in.getInputStream(e).readAllBytes());
                if (data == null) continue;
                ZipEntry n = new ZipEntry(e.getName());
                n.setMethod(ZipEntry.STORED);
                n.setSize(data.length);
                CRC32 crc = new CRC32();
                crc.update(data);
                n.setCrc(crc.getValue());
                out.putNextEntry(n);
                out.write(data);
                out.closeEntry();
            }
        }
        return dst;
    }

    @Test
    void truncatedFile() throws IOException {
        byte[] whole = Files.readAllBytes(fixture("dtypes.pth"));
        Path cut = Files.write(dir.resolve("cut.pth"), Arrays.copyOf(whole, whole.length / 2));
        fails(cut, "truncated or corrupt zip");
        Path tiny = Files.write(dir.resolve("tiny.pth"), Arrays.copyOf(whole, 3));
        fails(tiny, "not a zip");
        Path nothing = Files.write(dir.resolve("nothing.pth"), new byte[0]);
        fails(nothing, "not a zip");
    }

    @Test
    void notAZip() throws IOException {
        Path f = Files.writeString(dir.resolve("notes.pth"), "these are not the weights you are looking for\n");
        fails(f, "not a zip archive");
        fails(dir.resolve("absent.pth"), "no such file");
        fails(dir, "not a regular file");
    }

    @Test
    void legacyFormat() {
        fails(fixture("legacy.pth"), "legacy torch.save format");
    }

    @Test
    void zipWithoutDataPkl() throws IOException {
        Path f = rewrite(fixture("module.pth"), dir.resolve("nopkl.pth"), (n, b) -> n.endsWith("/data.pkl") ? null : b);
        fails(f, "no <archive>/data.pkl");
    }

    @Test
    void forbiddenGlobals() {
        var e = fails(fixture("user_class.pth"), "unsupported pickle global __main__.Thing");
        assertNull(e.tensor());
        fails(fixture("os_system.pth"), "unsupported pickle global ", "system");
    }

    @Test
    void aDictOfOtherThingsIsNotAStateDict() throws IOException {
        // {"a": 1} in protocol 2: PROTO 2, EMPTY_DICT, MARK, BINUNICODE "a", BININT1 1, SETITEMS, STOP
        byte[] pkl = {(byte) 0x80, 2, '}', '(', 'X', 1, 0, 0, 0, 'a', 'K', 1, 'u', '.'};
        Path f = rewrite(fixture("module.pth"), dir.resolve("ints.pth"), (n, b) -> n.endsWith("/data.pkl") ? pkl : b);
        fails(f, "not a state dict: the value of 'a' is the integer 1, not a tensor");
        // [] : EMPTY_LIST, STOP
        byte[] list = {(byte) 0x80, 2, ']', '.'};
        f = rewrite(fixture("module.pth"), dir.resolve("list.pth"), (n, b) -> n.endsWith("/data.pkl") ? list : b);
        fails(f, "the pickled object is a list of 0, not a dict of tensors");
    }

    @Test
    void bigEndianIsRefused() throws IOException {
        Path f = rewrite(fixture("dtypes.pth"), dir.resolve("big.pth"),
                (n, b) -> n.endsWith("/byteorder") ? "big".getBytes(StandardCharsets.US_ASCII) : b);
        fails(f, "big-endian");
    }

    @Test
    void storageShorterThanDeclared() throws IOException {
        Path f = rewrite(fixture("views.pth"), dir.resolve("short.pth"),
                (n, b) -> n.endsWith("/data/0") ? Arrays.copyOf(b, b.length - 4) : b);
        var e = fails(f, "storage '0'", "truncated or corrupt");
        assertEquals("base", e.tensor());
    }

    @Test
    void malformedPicklesFailCleanly() throws IOException {
        byte[] pkl;
        try (ZipFile z = new ZipFile(fixture("module.pth").toFile())) {
            pkl = z.getInputStream(z.getEntry("module/data.pkl")).readAllBytes();
        }
        List<byte[]> variants = new ArrayList<>();
        for (int cut = 0; cut < pkl.length; cut += 7) variants.add(Arrays.copyOf(pkl, cut));
        Random rnd = new Random(42);
        for (int i = 0; i < 300; i++) {
            byte[] v = pkl.clone();
            int flips = 1 + rnd.nextInt(3);
            for (int j = 0; j < flips; j++) v[rnd.nextInt(v.length)] = (byte) rnd.nextInt(256);
            variants.add(v);
        }
        long before = Tensor.liveCount();
        int opened = 0;
        Path f = dir.resolve("fuzz.pth");
        for (byte[] v : variants) {
            rewrite(fixture("module.pth"), f, (n, b) -> n.endsWith("/data.pkl") ? v : b);
            try (TorchCheckpoint ck = TorchCheckpoint.open(f); Scope s = Scope.open()) {
                opened++;
                for (String n : ck.names()) {
                    try {
                        ck.load(n);
                    } catch (TorchCheckpointException e) {
                        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
                    }
                }
            } catch (TorchCheckpointException e) {
                assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
            }
        }
        assertTrue(opened < variants.size(), "most variants are refused");
        assertEquals(before, Tensor.liveCount(), "no tensor leaked on any path");
    }
}
