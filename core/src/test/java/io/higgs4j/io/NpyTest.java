package io.higgs4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

class NpyTest {

    /** A .npy image written byte by byte, as numpy.save lays it out (version 1.0, header padded to 64 bytes). */
    static byte[] numpyImage(String descr, String shape, byte[] data, int major) {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int pre = major == 1 ? 10 : 12;
        int pad = (64 - (pre + dict.length() + 1) % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        int len = header.length();
        out.write(len & 0xff);
        out.write(len >> 8 & 0xff);
        if (major != 1) {
            out.write(0);
            out.write(0);
        }
        out.writeBytes(header.getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(data);
        return out.toByteArray();
    }

    @Test
    void readsEveryIntegerWidthLittleEndian() throws Exception {
        ByteBuffer i2 = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        for (short v : new short[] {1, 2, 3, -4, 1023, 0}) i2.putShort(v);
        Npy.LongArray a = Npy.parse(numpyImage("<i2", "(2, 3)", i2.array(), 1), "a.npy");
        assertArrayEquals(new long[] {2, 3}, a.shape());
        assertArrayEquals(new long[] {1, 2, 3, -4, 1023, 0}, a.data());
        assertArrayEquals(new long[] {-4, 1023, 0}, a.rows()[1]);

        ByteBuffer i4 = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(70000).putInt(-1);
        assertArrayEquals(new long[] {70000, -1}, Npy.parse(numpyImage("<i4", "(2,)", i4.array(), 2), "b").data());
        ByteBuffer i8 = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        assertArrayEquals(new long[] {1L << 40}, Npy.parse(numpyImage("<i8", "(1, 1)", i8.array(), 1), "c").data());
        ByteBuffer u2 = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0xffff);
        assertArrayEquals(new long[] {65535}, Npy.parse(numpyImage("<u2", "(1,)", u2.array(), 1), "d").data());
    }

    @Test
    void writeThenReadRoundTrips(@TempDir Path dir) throws Exception {
        long[][] rows = {{0, 1, 2, 3}, {1020, 1021, 1022, 1023}};
        for (String dtype : new String[] {"<i2", "<i4", "<i8"}) {
            Path f = dir.resolve("x" + dtype.substring(1) + ".npy");
            Npy.write(f, rows, dtype);
            Npy.LongArray a = Npy.read(f);
            assertEquals(dtype, a.dtype());
            assertArrayEquals(rows, a.rows());
            assertEquals(0, (Files.size(f) - 2 * 4 * Integer.parseInt(dtype.substring(2))) % 64, "header padded to 64 bytes");
            assertArrayEquals(new long[] {2, 4}, Npy.readHeader(f).shape());
        }
        // Identical to numpy's layout.
        ByteBuffer i8 = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(5).putLong(6);
        assertArrayEquals(numpyImage("<i8", "(1, 2)", i8.array(), 1), Npy.toBytes(new long[] {1, 2}, new long[] {5, 6}, "<i8"));
        assertArrayEquals(numpyImage("<i8", "(2,)", i8.array(), 1), Npy.toBytes(new long[] {2}, new long[] {5, 6}, "<i8"));
    }

    @Test
    void corruptFilesAreRefusedWithTheReason() {
        byte[] ok = numpyImage("<i8", "(2, 2)", new byte[32], 1);
        assertTrue(msg(Arrays.copyOf(ok, ok.length - 3)).contains("truncated"));
        assertTrue(msg(Arrays.copyOf(ok, ok.length + 8)).contains("after the data"));
        assertTrue(msg("hello world, not numpy".getBytes()).contains("magic"));
        assertTrue(msg(numpyImage(">i8", "(2, 2)", new byte[32], 1)).contains("big-endian"));
        assertTrue(msg(numpyImage("<f4", "(2, 2)", new byte[16], 1)).contains("floating-point"));
        assertTrue(msg(numpyImage("<i8", "(2, x)", new byte[16], 1)).contains("malformed shape"));
        String fortran = new String(numpyImage("<i8", "(2, 2)", new byte[32], 1), StandardCharsets.ISO_8859_1).replace("False", "True ");
        assertTrue(msg(fortran.getBytes(StandardCharsets.ISO_8859_1)).contains("fortran_order"));
        assertTrue(msg(Arrays.copyOf(ok, 20)).contains("truncated header"));
    }

    private static String msg(byte[] image) {
        Npy.NpyException e = assertThrows(Npy.NpyException.class, () -> Npy.parse(image, "bad.npy"));
        assertTrue(e.getMessage().startsWith("bad.npy: "), e.getMessage());
        return e.getMessage();
    }
}
