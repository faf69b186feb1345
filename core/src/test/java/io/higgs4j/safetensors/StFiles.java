package io.higgs4j.safetensors;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Builds safetensors bytes by hand, per the format's description, independent of the writer under test. */
final class StFiles {

    private StFiles() {}

    /** 8-byte little-endian n, the header bytes as given, then data. */
    static byte[] raw(long n, byte[] header, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        return b.putLong(n).put(header).put(data).array();
    }

    /** A well-formed file: the JSON header padded with spaces to a multiple of 8, then data. */
    static byte[] file(String headerJson, byte[] data) {
        byte[] h = headerJson.getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        byte[] p = java.util.Arrays.copyOf(h, padded);
        java.util.Arrays.fill(p, h.length, padded, (byte) ' ');
        return raw(padded, p, data);
    }

    static Path write(Path path, byte[] bytes) {
        try {
            return Files.write(path, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Truncating bfloat16: the high half of a float's bits. */
    static short bf16Truncate(float f) {
        return (short) (Float.floatToRawIntBits(f) >>> 16);
    }

    /** Round-to-nearest-even bfloat16, as torch converts (no NaNs here). */
    static short bf16Round(float f) {
        int bits = Float.floatToRawIntBits(f);
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7FFF + lsb) >>> 16);
    }

    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** A tensor holding exactly these 16-bit patterns (bf16, f16 or int16). */
    static Tensor ofShorts(short[] bits, DType dtype, long... shape) {
        return Tensor.copyOf(MemorySegment.ofArray(bits), dtype, shape);
    }

    static Tensor ofBytes(byte[] bytes, DType dtype, long... shape) {
        return Tensor.copyOf(MemorySegment.ofArray(bytes), dtype, shape);
    }

    /** The raw 16-bit patterns of a 2-byte-dtype tensor. */
    static short[] shorts(Tensor t) {
        short[] out = new short[Math.toIntExact(t.numel())];
        t.copyTo(MemorySegment.ofArray(out));
        return out;
    }

    static byte[] bytes(Tensor t) {
        byte[] out = new byte[Math.toIntExact(t.numel())];
        t.copyTo(MemorySegment.ofArray(out));
        return out;
    }

    static List<String> listDir(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
