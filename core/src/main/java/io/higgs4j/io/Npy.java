package io.higgs4j.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files of integers (format versions 1.0, 2.0 and 3.0): C order, little-endian (or one-byte)
 * int8/16/32/64 and uint8/16/32, any number of dimensions. Values are returned as {@code long}. Every failure is an
 * {@link NpyException} naming the file and what is wrong with it.
 */
public final class Npy {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() { }

    /** An integer array: its NumPy dtype descriptor (e.g. {@code <i8}), shape and values in C order. */
    public record LongArray(String dtype, long[] shape, long[] data) {
        public int dim() {
            return shape.length;
        }

        /** The values of a 2-d array as rows. */
        public long[][] rows() {
            if (shape.length != 2) throw new IllegalStateException("rows() needs a 2-d array, shape is " + Arrays.toString(shape));
            int r = (int) shape[0], c = (int) shape[1];
            long[][] out = new long[r][];
            for (int i = 0; i < r; i++) out[i] = Arrays.copyOfRange(data, i * c, (i + 1) * c);
            return out;
        }
    }

    /** A file that is not a readable integer .npy; the message names the file. */
    public static final class NpyException extends IOException {
        public NpyException(String message) { super(message); }
    }

    /** The header of a file: dtype, shape and where the data starts. */
    public record Header(String dtype, long[] shape, int dataOffset) {
        public long numel() {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            return n;
        }
    }

    /** Reads the whole file. */
    public static LongArray read(Path file) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new NpyException(file + ": cannot read: " + e.getMessage());
        }
        return parse(bytes, file.toString());
    }

    /** Reads only the header (cheap: the first few hundred bytes). */
    public static Header readHeader(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(65536 + 12);
            return header(head, file.toString(), false);
        } catch (NpyException e) {
            throw e;
        } catch (IOException e) {
            throw new NpyException(file + ": cannot read: " + e.getMessage());
        }
    }

    /** Parses an in-memory .npy image; name is used in messages. */
    public static LongArray parse(byte[] bytes, String name) throws NpyException {
        Header h = header(bytes, name, true);
        int width = width(h.dtype());
        long n;
        try {
            n = h.numel();
        } catch (ArithmeticException e) {
            throw new NpyException(name + ": shape " + Arrays.toString(h.shape()) + " is too large");
        }
        long expected = n * width;
        long available = bytes.length - (long) h.dataOffset();
        if (available < expected) {
            throw new NpyException(name + ": truncated: shape " + Arrays.toString(h.shape()) + " of " + h.dtype() + " needs "
                    + expected + " data bytes but the file has " + available);
        }
        if (available > expected) {
            throw new NpyException(name + ": " + (available - expected) + " bytes after the data of shape "
                    + Arrays.toString(h.shape()) + " (" + h.dtype() + "); the file is corrupt");
        }
        if (n > Integer.MAX_VALUE - 8) throw new NpyException(name + ": " + n + " values are too many for one Java array");
        ByteBuffer buf = ByteBuffer.wrap(bytes, h.dataOffset(), (int) expected).order(ByteOrder.LITTLE_ENDIAN);
        long[] data = new long[(int) n];
        char kind = h.dtype().charAt(1);
        for (int i = 0; i < data.length; i++) {
            data[i] = switch (width) {
                case 1 -> kind == 'u' ? Byte.toUnsignedLong(buf.get()) : buf.get();
                case 2 -> kind == 'u' ? Short.toUnsignedLong(buf.getShort()) : buf.getShort();
                case 4 -> kind == 'u' ? Integer.toUnsignedLong(buf.getInt()) : buf.getInt();
                default -> buf.getLong();
            };
        }
        return new LongArray(h.dtype(), h.shape(), data);
    }

    private static Header header(byte[] b, String name, boolean whole) throws NpyException {
        if (b.length < 10 || !Arrays.equals(Arrays.copyOf(b, 6), MAGIC)) {
            throw new NpyException(name + ": not a .npy file (no \\x93NUMPY magic)");
        }
        int major = b[6] & 0xff;
        int headerLen, start;
        if (major == 1) {
            headerLen = (b[8] & 0xff) | (b[9] & 0xff) << 8;
            start = 10;
        } else if (major == 2 || major == 3) {
            if (b.length < 12) throw new NpyException(name + ": truncated header");
            headerLen = (b[8] & 0xff) | (b[9] & 0xff) << 8 | (b[10] & 0xff) << 16 | (b[11] & 0xff) << 24;
            start = 12;
        } else {
            throw new NpyException(name + ": unsupported .npy format version " + major + "." + (b[7] & 0xff));
        }
        if (headerLen < 0 || start + (long) headerLen > b.length) {
            throw new NpyException(name + ": truncated header (" + headerLen + " header bytes announced, file has " + b.length + ")");
        }
        String dict = new String(b, start, headerLen, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(dict), f = FORTRAN.matcher(dict), s = SHAPE.matcher(dict);
        if (!d.find() || !f.find() || !s.find()) throw new NpyException(name + ": malformed header " + dict.strip());
        String dtype = d.group(1);
        width(dtype, name);
        if (f.group(1).equals("True")) throw new NpyException(name + ": fortran_order arrays are not supported; save it in C order");
        long[] shape;
        try {
            shape = Arrays.stream(s.group(1).split(",")).map(String::strip).filter(x -> !x.isEmpty()).mapToLong(x -> Long.parseLong(x.replace("L", ""))).toArray();
        } catch (NumberFormatException e) {
            throw new NpyException(name + ": malformed shape (" + s.group(1) + ")");
        }
        for (long x : shape) if (x < 0) throw new NpyException(name + ": negative dimension in shape " + Arrays.toString(shape));
        return new Header(dtype, shape, start + headerLen);
    }

    private static int width(String dtype) {
        return dtype.charAt(2) - '0';
    }

    private static void width(String dtype, String name) throws NpyException {
        boolean ok = switch (dtype) {
            case "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8" -> true;
            default -> false;
        };
        if (!ok) {
            String why = dtype.startsWith(">") ? "big-endian data is not supported"
                    : dtype.contains("f") ? "floating-point data cannot be audio codes"
                    : "unsupported dtype";
            throw new NpyException(name + ": dtype '" + dtype + "': " + why + " (expected little-endian int8/16/32/64 or uint8/16/32)");
        }
    }

    // ---- writing ----

    /** Writes a 2-d array (rows of equal length) as a version 1.0 .npy of dtype {@code <i2}, {@code <i4} or {@code <i8}. */
    public static void write(Path file, long[][] rows, String dtype) throws IOException {
        int c = rows.length == 0 ? 0 : rows[0].length;
        long[] flat = new long[rows.length * c];
        for (int r = 0; r < rows.length; r++) {
            if (rows[r].length != c) throw new IllegalArgumentException("row " + r + " has " + rows[r].length + " values, row 0 has " + c);
            System.arraycopy(rows[r], 0, flat, r * c, c);
        }
        write(file, new long[] {rows.length, c}, flat, dtype);
    }

    /** Writes values (C order) of the given shape as a version 1.0 .npy of dtype {@code <i2}, {@code <i4} or {@code <i8}. */
    public static void write(Path file, long[] shape, long[] data, String dtype) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(toBytes(shape, data, dtype));
        }
    }

    /** The .npy image of values (C order) of the given shape. */
    public static byte[] toBytes(long[] shape, long[] data, String dtype) {
        int width = switch (dtype) {
            case "<i2" -> 2;
            case "<i4" -> 4;
            case "<i8" -> 8;
            default -> throw new IllegalArgumentException("write: dtype must be <i2, <i4 or <i8, got " + dtype);
        };
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        if (n != data.length) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " values, got " + data.length);
        String dims = String.join(", ", Arrays.stream(shape).mapToObj(Long::toString).toList()) + (shape.length == 1 ? "," : "");
        String dict = "{'descr': '" + dtype + "', 'fortran_order': False, 'shape': (" + dims + "), }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteBuffer buf = ByteBuffer.allocate(10 + header.length() + data.length * width).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        buf.put(header.getBytes(StandardCharsets.ISO_8859_1));
        for (long v : data) {
            switch (width) {
                case 2 -> {
                    if (v < Short.MIN_VALUE || v > Short.MAX_VALUE) throw new IllegalArgumentException(v + " does not fit <i2");
                    buf.putShort((short) v);
                }
                case 4 -> {
                    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw new IllegalArgumentException(v + " does not fit <i4");
                    buf.putInt((int) v);
                }
                default -> buf.putLong(v);
            }
        }
        return buf.array();
    }
}
