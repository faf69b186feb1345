package io.higgs4j.higgs;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Tensor;

import java.util.Arrays;

/**
 * The delay pattern of Higgs Audio v2 (docs/MODEL.md section 5). A clip's codes, K×T, are wrapped as [BOS | codes | EOS]
 * (L = T+2 columns per row), then row k is shifted right by k columns, giving K×(L+K-1). On the input side the cells
 * before a row's start are BOS and the cells after its end are EOS; labels use [-100 | codes | EOS] and fill -100.
 * Reverting takes row k's columns k .. k+L-1.
 *
 * <p>Example, K=4, T=3, BOS=1024, EOS=1025:
 * <pre>
 * input                                  label
 * 1024   10   11   12 1025 1025 1025 1025     -100   10   11   12 1025 -100 -100 -100
 * 1024 1024   20   21   22 1025 1025 1025     -100 -100   20   21   22 1025 -100 -100
 * 1024 1024 1024   30   31   32 1025 1025     -100 -100 -100   30   31   32 1025 -100
 * 1024 1024 1024 1024   40   41   42 1025     -100 -100 -100 -100   40   41   42 1025
 * </pre>
 *
 * <p>The array methods never modify their arguments and return fresh arrays. The tensor overloads take and return
 * int64 tensors of shape [K, width] (int32 and other integer inputs are read as int64); the result lies on the
 * input's device.
 */
public final class DelayPattern {

    /** The label value that cross-entropy ignores. */
    public static final long IGNORE_INDEX = -100;

    private DelayPattern() { }

    // =====================================================================================================
    // Arrays
    // =====================================================================================================

    /**
     * The delayed input: codes K×T (each code in [0, bos)) wrapped as [bos | codes | eos] and row k shifted right by
     * k, K×(T+2+K-1), bos before a row's start and eos after its end.
     */
    public static long[][] build(long[][] codes, long bos, long eos) {
        int t = checkCodes("build", codes, bos, "bos");
        checkSpecial("build", bos, eos);
        return delay(wrap(codes, t, bos, eos), bos, eos);
    }

    /**
     * The delayed labels: codes K×T (each code in [0, eos)) wrapped as [-100 | codes | eos] and row k shifted right
     * by k, K×(T+2+K-1), -100 everywhere outside a row's span.
     */
    public static long[][] buildLabels(long[][] codes, long eos) {
        int t = checkCodes("buildLabels", codes, eos, "eos");
        return delay(wrap(codes, t, IGNORE_INDEX, eos), IGNORE_INDEX, IGNORE_INDEX);
    }

    /** All -100 labels of the delayed width, K×(T+2+K-1): for an audio-out clip that is not supervised. */
    public static long[][] unsupervisedLabels(int k, int t) {
        if (k <= 0) throw new IllegalArgumentException("unsupervisedLabels: K (codebooks) must be positive, got " + k);
        if (t < 0) throw new IllegalArgumentException("unsupervisedLabels: T (frames) must be >= 0, got " + t);
        long[][] out = new long[k][delayedWidth(k, t)];
        for (long[] row : out) Arrays.fill(row, IGNORE_INDEX);
        return out;
    }

    /** [bos | codes | eos] for every row, K×(T+2), without the delay. */
    public static long[][] wrap(long[][] codes, long bos, long eos) {
        int t = checkCodes("wrap", codes, bos, "bos");
        checkSpecial("wrap", bos, eos);
        return wrap(codes, t, bos, eos);
    }

    /**
     * Undoes the delay: row k of the result is row k's columns k .. k+L-1 of delayed (K×W with W = L+K-1), i.e.
     * [BOS | codes | EOS] per row for a built input.
     */
    public static long[][] revert(long[][] delayed) {
        int k = checkRectangular("revert", delayed, "delayed");
        int w = delayed[0].length;
        int l = w - k + 1;
        if (l < 2) {
            throw new IllegalArgumentException("revert: delayed has width " + w + " for K=" + k
                    + " rows; it must be at least K+1 = " + (k + 1) + " (L = width-K+1 >= 2 for [BOS | EOS])");
        }
        long[][] out = new long[k][];
        for (int r = 0; r < k; r++) out[r] = Arrays.copyOfRange(delayed[r], r, r + l);
        return out;
    }

    /** {@link #revert(long[][])}, checking that delayed has k rows. */
    public static long[][] revert(long[][] delayed, int k) {
        if (delayed != null && delayed.length != k) {
            throw new IllegalArgumentException("revert: expected " + k + " rows (codebooks), got " + delayed.length);
        }
        return revert(delayed);
    }

    /** Drops the first (BOS) and last (EOS) column of every row: K×L to K×(L-2). */
    public static long[][] stripBosEos(long[][] wrapped) {
        checkRectangular("stripBosEos", wrapped, "wrapped");
        int l = wrapped[0].length;
        if (l < 2) {
            throw new IllegalArgumentException("stripBosEos: rows have " + l + " columns; [BOS | codes | EOS] has at least 2");
        }
        long[][] out = new long[wrapped.length][];
        for (int r = 0; r < wrapped.length; r++) out[r] = Arrays.copyOfRange(wrapped[r], 1, l - 1);
        return out;
    }

    /** The original codes K×T of a delayed input (or delayed labels): stripBosEos(revert(delayed)). */
    public static long[][] revertCodes(long[][] delayed) {
        return stripBosEos(revert(delayed));
    }

    /** Width of the delayed layout: (T+2) + (K-1). */
    public static int delayedWidth(int k, int t) {
        return Math.addExact(t, k + 1);
    }

    // =====================================================================================================
    // Tensors
    // =====================================================================================================

    /** {@link #build(long[][], long, long)} for an integer tensor [K, T]; returns int64 [K, T+K+1]. */
    public static Tensor build(Tensor codes, long bos, long eos) {
        return toTensor(build(toArray("build", codes), bos, eos), codes.device());
    }

    /** {@link #buildLabels(long[][], long)} for an integer tensor [K, T]; returns int64 [K, T+K+1]. */
    public static Tensor buildLabels(Tensor codes, long eos) {
        return toTensor(buildLabels(toArray("buildLabels", codes), eos), codes.device());
    }

    /** {@link #revert(long[][])} for an integer tensor [K, W]; returns int64 [K, W-K+1]. */
    public static Tensor revert(Tensor delayed) {
        return toTensor(revert(toArray("revert", delayed)), delayed.device());
    }

    /** {@link #stripBosEos(long[][])} for an integer tensor [K, L]; returns int64 [K, L-2]. */
    public static Tensor stripBosEos(Tensor wrapped) {
        return toTensor(stripBosEos(toArray("stripBosEos", wrapped)), wrapped.device());
    }

    /** {@link #revertCodes(long[][])} for an integer tensor [K, W]; returns int64 [K, W-K-1]. */
    public static Tensor revertCodes(Tensor delayed) {
        return toTensor(revertCodes(toArray("revertCodes", delayed)), delayed.device());
    }

    // =====================================================================================================
    // Internals
    // =====================================================================================================

    private static long[][] wrap(long[][] codes, int t, long first, long last) {
        long[][] out = new long[codes.length][t + 2];
        for (int r = 0; r < codes.length; r++) {
            out[r][0] = first;
            System.arraycopy(codes[r], 0, out[r], 1, t);
            out[r][t + 1] = last;
        }
        return out;
    }

    /** Row k of wrapped (K×L) shifted right by k into K×(L+K-1): before fills the head, after the tail. */
    private static long[][] delay(long[][] wrapped, long before, long after) {
        int k = wrapped.length, l = wrapped[0].length, w = l + k - 1;
        long[][] out = new long[k][w];
        for (int r = 0; r < k; r++) {
            Arrays.fill(out[r], 0, r, before);
            System.arraycopy(wrapped[r], 0, out[r], r, l);
            Arrays.fill(out[r], r + l, w, after);
        }
        return out;
    }

    /** Checks codes is a non-empty rectangular K×T array with every code in [0, limit); returns T. */
    private static int checkCodes(String op, long[][] codes, long limit, String limitName) {
        checkRectangular(op, codes, "codes");
        int t = codes[0].length;
        for (int r = 0; r < codes.length; r++) {
            for (int c = 0; c < t; c++) {
                long v = codes[r][c];
                if (v < 0 || v >= limit) {
                    throw new IllegalArgumentException(op + ": code " + v + " at codebook " + r + ", frame " + c
                            + " is outside [0, " + limit + ") (" + limitName + " = " + limit + ")");
                }
            }
        }
        return t;
    }

    private static void checkSpecial(String op, long bos, long eos) {
        if (bos < 0 || eos < 0) throw new IllegalArgumentException(op + ": bos " + bos + " and eos " + eos + " must be >= 0");
        if (bos == eos) throw new IllegalArgumentException(op + ": bos and eos must differ, both are " + bos);
    }

    /** Checks a is non-null, has at least one row, and every row is non-null and as long as the first; returns K. */
    private static int checkRectangular(String op, long[][] a, String what) {
        if (a == null) throw new IllegalArgumentException(op + ": " + what + " is null");
        if (a.length == 0) throw new IllegalArgumentException(op + ": " + what + " has K=0 rows (codebooks); at least one is needed");
        for (int r = 0; r < a.length; r++) {
            if (a[r] == null) throw new IllegalArgumentException(op + ": " + what + " row " + r + " is null");
            if (a[r].length != a[0].length) {
                throw new IllegalArgumentException(op + ": " + what + " is ragged: row 0 has " + a[0].length
                        + " columns but row " + r + " has " + a[r].length);
            }
        }
        return a.length;
    }

    private static long[][] toArray(String op, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": tensor is null");
        if (t.dtype().isFloatingPoint() || t.dtype() == DType.BOOL) {
            throw new IllegalArgumentException(op + ": expected an integer tensor [K, T], got " + describe(t));
        }
        if (t.dim() != 2) throw new IllegalArgumentException(op + ": expected a 2-d tensor [K, T], got " + describe(t));
        long k = t.size(0), w = t.size(1);
        if (k == 0) throw new IllegalArgumentException(op + ": tensor has K=0 rows (codebooks); at least one is needed");
        if (w > Integer.MAX_VALUE || k * w > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(op + ": tensor too large for Java arrays: " + describe(t));
        }
        long[] flat = t.toLongArray();
        long[][] out = new long[(int) k][];
        for (int r = 0; r < k; r++) out[r] = Arrays.copyOfRange(flat, (int) (r * w), (int) ((r + 1) * w));
        return out;
    }

    static String describe(Tensor t) {
        return t.dtype() + Arrays.toString(t.shape()) + (t.device().equals(Device.CPU) ? "" : " " + t.device());
    }

    private static Tensor toTensor(long[][] a, Device device) {
        int k = a.length, w = a[0].length;
        long[] flat = new long[k * w];
        for (int r = 0; r < k; r++) System.arraycopy(a[r], 0, flat, r * w, w);
        Tensor cpu = Tensor.of(flat, k, w);
        if (device.equals(Device.CPU)) return cpu;
        try (cpu) {
            return cpu.to(device);
        }
    }
}
