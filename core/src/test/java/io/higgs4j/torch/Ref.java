package io.higgs4j.torch;

import java.util.Arrays;
import java.util.Random;
import java.util.function.DoubleBinaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Reference implementations in plain Java for the value tests: random data, index arithmetic, broadcasting, erf,
 * bfloat16 rounding and tolerant comparisons. Nothing here calls the code under test.
 */
final class Ref {

    private Ref() {}

    // ---- random data ----

    static double[] normal(Random r, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = r.nextGaussian();
        return v;
    }

    static double[] uniform(Random r, int n, double lo, double hi) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = lo + (hi - lo) * r.nextDouble();
        return v;
    }

    static float[] f32(double[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) v[i];
        return out;
    }

    static double[] f64(float[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }

    static double[] f64(long[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }

    /** The doubles a float32 tensor built from v holds. */
    static double[] roundF32(double[] v) {
        return f64(f32(v));
    }

    // ---- index arithmetic (row-major) ----

    static int numel(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return Math.toIntExact(n);
    }

    static int[] unravel(int flat, long[] shape) {
        int[] idx = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = (int) (flat % shape[d]);
            flat /= (int) shape[d];
        }
        return idx;
    }

    static int ravel(int[] idx, long[] shape) {
        int flat = 0;
        for (int d = 0; d < shape.length; d++) flat = flat * (int) shape[d] + idx[d];
        return flat;
    }

    /** The broadcast shape of a and b (numpy rules); fails the test if they do not broadcast. */
    static long[] broadcastShape(long[] a, long[] b) {
        int r = Math.max(a.length, b.length);
        long[] out = new long[r];
        for (int i = 1; i <= r; i++) {
            long x = i <= a.length ? a[a.length - i] : 1, y = i <= b.length ? b[b.length - i] : 1;
            if (x != y && x != 1 && y != 1) fail("shapes do not broadcast: " + Arrays.toString(a) + " " + Arrays.toString(b));
            out[r - i] = Math.max(x, y);
        }
        return out;
    }

    /** The flat index into a tensor of shape src of the element that broadcasts to idx (an index into a larger shape). */
    static int broadcastIndex(int[] idx, long[] src) {
        int off = idx.length - src.length;
        int flat = 0;
        for (int d = 0; d < src.length; d++) flat = flat * (int) src[d] + (src[d] == 1 ? 0 : idx[off + d]);
        return flat;
    }

    static double[] binary(double[] a, long[] as, double[] b, long[] bs, DoubleBinaryOperator op) {
        long[] out = broadcastShape(as, bs);
        double[] v = new double[numel(out)];
        for (int i = 0; i < v.length; i++) {
            int[] idx = unravel(i, out);
            v[i] = op.applyAsDouble(a[broadcastIndex(idx, as)], b[broadcastIndex(idx, bs)]);
        }
        return v;
    }

    /** out[i] = sum_k a[i,k] b[k,j] for row-major a [m,k], b [k,n]. */
    static double[] matmul(double[] a, double[] b, int m, int k, int n) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int t = 0; t < k; t++) s += a[i * k + t] * b[t * n + j];
                c[i * n + j] = s;
            }
        return c;
    }

    /** Reduces shape over the dims in reduce (others kept) with a sum; returns values in row-major order of the kept dims. */
    static double[] sumOver(double[] x, long[] shape, int... reduce) {
        boolean[] red = new boolean[shape.length];
        for (int d : reduce) red[d] = true;
        long[] keptShape = keptShape(shape, red);
        double[] out = new double[numel(keptShape)];
        for (int i = 0; i < x.length; i++) out[keptIndex(unravel(i, shape), shape, red)] += x[i];
        return out;
    }

    static long[] keptShape(long[] shape, boolean[] red) {
        return java.util.stream.IntStream.range(0, shape.length).filter(d -> !red[d]).mapToLong(d -> shape[d]).toArray();
    }

    static int keptIndex(int[] idx, long[] shape, boolean[] red) {
        int flat = 0;
        for (int d = 0; d < shape.length; d++) if (!red[d]) flat = flat * (int) shape[d] + idx[d];
        return flat;
    }

    /** Softmax of x [outer, n, inner] along the middle dimension. */
    static double[] softmax(double[] x, long[] shape, int dim, boolean log) {
        int n = (int) shape[dim];
        int inner = 1;
        for (int d = dim + 1; d < shape.length; d++) inner *= (int) shape[d];
        int outer = x.length / (n * inner);
        double[] out = new double[x.length];
        for (int o = 0; o < outer; o++)
            for (int in = 0; in < inner; in++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) max = Math.max(max, x[(o * n + j) * inner + in]);
                double s = 0;
                for (int j = 0; j < n; j++) s += Math.exp(x[(o * n + j) * inner + in] - max);
                for (int j = 0; j < n; j++) {
                    double z = x[(o * n + j) * inner + in] - max;
                    out[(o * n + j) * inner + in] = log ? z - Math.log(s) : Math.exp(z) / s;
                }
            }
        return out;
    }

    // ---- special functions ----

    /** erf by its Maclaurin series; accurate to ~1e-13 for |x| <= 3 (the tests stay inside that range). */
    static double erf(double x) {
        if (Math.abs(x) > 3.5) throw new IllegalArgumentException("Ref.erf is only accurate for |x| <= 3.5, got " + x);
        double sum = 0, term = x; // term = (-1)^n x^(2n+1) / n!
        for (int n = 0; n < 200; n++) {
            double t = term / (2 * n + 1);
            sum += t;
            if (Math.abs(t) < 1e-18) break;
            term *= -x * x / (n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }

    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    static double gelu(double x) {
        return x * 0.5 * (1 + erf(x / Math.sqrt(2)));
    }

    static double geluTanh(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    /** float -> bfloat16 -> float with round-to-nearest-even on the float's bits (finite inputs). */
    static float bf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(rounded & 0xFFFF0000);
    }

    static float f16(float f) {
        return Float.float16ToFloat(Float.floatToFloat16(f));
    }

    // ---- assertions ----

    static void assertClose(double[] expected, double[] actual, double rtol, double atol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (Double.isNaN(e) ? !Double.isNaN(a) : !(Math.abs(a - e) <= atol + rtol * Math.abs(e)) && e != a) {
                fail(what + ": element " + i + " expected " + e + " but was " + a + " (diff " + Math.abs(a - e) + ")\n expected "
                        + Arrays.toString(expected) + "\n actual   " + Arrays.toString(actual));
            }
        }
    }

    /** Tolerance for float64 results. */
    static void assertClose64(double[] expected, Tensor t, String what) {
        assertEquals(DType.FLOAT64, t.dtype(), what + ": dtype");
        assertClose(expected, t.toDoubleArray(), 1e-10, 1e-12, what);
    }

    /** Tolerance for float32 results. */
    static void assertClose32(double[] expected, Tensor t, String what) {
        assertEquals(DType.FLOAT32, t.dtype(), what + ": dtype");
        assertClose(expected, t.toDoubleArray(), 1e-5, 1e-6, what);
    }

    static void assertShape(Tensor t, long... shape) {
        assertArrayEquals(shape, t.shape(), () -> "shape of " + t);
    }
}
