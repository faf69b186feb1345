package io.higgs4j.safetensors;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.higgs4j.safetensors.StFiles.*;
import static org.junit.jupiter.api.Assertions.*;

/** Files built byte by byte from the format's description, read back: the reader does not just agree with our writer. */
class SafetensorsHandWrittenTest {

    @TempDir
    Path dir;

    @Test
    void handWrittenFileReadsBack() {
        float[] bfSource = {1.0f, -2.5f, (float) Math.PI, 1.0e-3f};
        short[] bfBits = new short[4];
        for (int i = 0; i < 4; i++) bfBits[i] = bf16Truncate(bfSource[i]);

        ByteBuffer data = le(27);
        data.putDouble(-1234.5);                        // scalar   [0, 8)
        data.putInt(7).putInt(-9);                      // ints     [8, 16)
        for (short b : bfBits) data.putShort(b);        // bf       [16, 24)
        data.put((byte) 1).put((byte) 0).put((byte) 1); // flags    [24, 27); empty is [24, 24)
        // Header order differs from data order on purpose; no trailing padding inside the JSON, spaces added after.
        String header = """
                {"bf":{"dtype":"BF16","shape":[2,2],"data_offsets":[16,24]},
                 "__metadata__":{"format":"pt","note":"hand-written"},
                 "scalar":{"dtype":"F64","shape":[],"data_offsets":[0,8]},
                 "empty":{"dtype":"F32","shape":[3,0],"data_offsets":[24,24]},
                 "ints":{"dtype":"I32","shape":[2],"data_offsets":[8,16]},
                 "flags":{"dtype":"BOOL","shape":[3],"data_offsets":[24,27]}}""";
        Path file = write(dir.resolve("hand.safetensors"), StFiles.file(header, data.array()));

        long before = Tensor.liveCount();
        try (Scope s = Scope.open(); SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("bf", "scalar", "empty", "ints", "flags"), f.names());
            assertEquals(Map.of("format", "pt", "note", "hand-written"), f.metadata());
            assertEquals(new TensorInfo(DType.BFLOAT16, new long[] {2, 2}, 8), f.info("bf"));
            assertEquals(new TensorInfo(DType.FLOAT64, new long[0], 8), f.info("scalar"));
            assertEquals(new TensorInfo(DType.FLOAT32, new long[] {3, 0}, 0), f.info("empty"));
            assertEquals(27, f.dataBytes());

            Tensor bf = f.load("bf");
            assertEquals(DType.BFLOAT16, bf.dtype());
            assertArrayEquals(new long[] {2, 2}, bf.shape());
            assertArrayEquals(bfBits, shorts(bf));
            float[] widened = bf.toFloatArray();
            for (int i = 0; i < 4; i++) {
                float expected = Float.intBitsToFloat(Float.floatToRawIntBits(bfSource[i]) & 0xFFFF0000);
                assertEquals(expected, widened[i], "bf16 element " + i);
            }
            assertEquals(3.140625f, widened[2], "pi truncated to bf16");

            Tensor scalar = f.load("scalar");
            assertEquals(0, scalar.dim());
            assertEquals(-1234.5, scalar.item());

            Tensor empty = f.load("empty");
            assertArrayEquals(new long[] {3, 0}, empty.shape());
            assertEquals(0, empty.numel());
            assertEquals(0, empty.toFloatArray().length);

            assertArrayEquals(new int[] {7, -9}, f.load("ints").toIntArray());
            assertArrayEquals(new boolean[] {true, false, true}, f.load("flags").toBooleanArray());
            float[] asFloat = f.load("ints", DType.FLOAT32).toFloatArray();
            assertArrayEquals(new float[] {7, -9}, asFloat);
        }
        assertEquals(before, Tensor.liveCount());
    }

    @Test
    void checkpointOpensAHandWrittenSingleFileInADirectory() {
        ByteBuffer data = le(8).putFloat(0.5f).putFloat(-8f);
        write(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE),
                StFiles.file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data.array()));
        try (Scope s = Scope.open(); SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertEquals(List.of("w"), c.names());
            assertEquals(List.of(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE)), c.files());
            assertTrue(c.totalSize().isEmpty());
            assertEquals(8, c.dataBytes());
            assertArrayEquals(new float[] {0.5f, -8f}, c.load("w").toFloatArray());
            assertArrayEquals(new double[] {0.5, -8}, c.load("w", DType.FLOAT64).toDoubleArray());
        }
    }
}
