package io.higgs4j.torch;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;

import static io.higgs4j.torch.Ref.assertClose;
import static io.higgs4j.torch.Ref.assertClose32;
import static io.higgs4j.torch.Ref.assertClose64;
import static io.higgs4j.torch.Ref.assertShape;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Values of creation, dtype conversion, metadata, copies, arithmetic, comparisons, linear algebra, reductions and the
 * Aten escape hatch, each checked against a plain-Java computation.
 */
class OpsValueTest {

    // =====================================================================================================
    // Creation
    // =====================================================================================================

    @Test
    void ofArraysKeepValuesShapeAndDtype() {
        try (Scope s = Scope.open()) {
            float[] f = {1.5f, -2.25f, 3e-8f, Float.MAX_VALUE, -0f, 7f};
            Tensor tf = Tensor.of(f, 2, 3);
            assertShape(tf, 2, 3);
            assertEquals(DType.FLOAT32, tf.dtype());
            assertArrayEquals(f, tf.toFloatArray());

            double[] d = {Math.PI, -1e300, 1e-300, 0.1};
            Tensor td = Tensor.of(d, 2, 2);
            assertEquals(DType.FLOAT64, td.dtype());
            assertArrayEquals(d, td.toDoubleArray());

            long[] l = {Long.MAX_VALUE, Long.MIN_VALUE, -5, (1L << 53) + 1};
            Tensor tl = Tensor.of(l);
            assertShape(tl, 4);
            assertEquals(DType.INT64, tl.dtype());
            assertArrayEquals(l, tl.toLongArray());

            int[] i = {Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE, 42, 7};
            Tensor ti = Tensor.of(i, 3, 2);
            assertEquals(DType.INT32, ti.dtype());
            assertArrayEquals(i, ti.toIntArray());

            boolean[] b = {true, false, false, true, true};
            Tensor tb = Tensor.of(b);
            assertEquals(DType.BOOL, tb.dtype());
            assertArrayEquals(b, tb.toBooleanArray());

            // conversions on the way out
            assertArrayEquals(new double[] {1, 0, 0, 1, 1}, tb.toDoubleArray());
            assertArrayEquals(new long[] {Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE, 42, 7}, ti.toLongArray());
            assertArrayEquals(Ref.f64(f), tf.toDoubleArray());

            assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3));
        }
    }

    @Test
    void copyOfAndFromSegment() {
        try (Scope s = Scope.open()) {
            // a heap segment is copied: later writes to the array do not reach the tensor
            float[] arr = {1, 2, 3, 4};
            Tensor heap = Tensor.fromSegment(MemorySegment.ofArray(arr), DType.FLOAT32, 2, 2);
            arr[0] = 99;
            assertArrayEquals(new float[] {1, 2, 3, 4}, heap.toFloatArray());

            // copyOf always copies, also from native memory
            try (Arena a = Arena.ofConfined()) {
                MemorySegment seg = a.allocateFrom(ValueLayout.JAVA_LONG, 10, 20, 30);
                Tensor c = Tensor.copyOf(seg, DType.INT64, 3);
                seg.setAtIndex(ValueLayout.JAVA_LONG, 1, -7);
                Tensor c2 = Tensor.fromSegment(seg, DType.INT64, 3); // confined arena: not global, so copied too
                seg.setAtIndex(ValueLayout.JAVA_LONG, 2, -8);
                assertArrayEquals(new long[] {10, 20, 30}, c.toLongArray());
                assertArrayEquals(new long[] {10, -7, 30}, c2.toLongArray());
            }

            // a global-arena segment is viewed without a copy, both ways
            MemorySegment g = Arena.global().allocate(6 * 8, 8);
            for (int i = 0; i < 6; i++) g.setAtIndex(ValueLayout.JAVA_DOUBLE, i, i * 0.5);
            Tensor view = Tensor.fromSegment(g, DType.FLOAT64, 2, 3);
            assertShape(view, 2, 3);
            assertArrayEquals(new double[] {0, 0.5, 1, 1.5, 2, 2.5}, view.toDoubleArray());
            g.setAtIndex(ValueLayout.JAVA_DOUBLE, 4, -42.0);
            assertArrayEquals(new double[] {0, 0.5, 1, 1.5, -42, 2.5}, view.toDoubleArray());
            view.select(0, 0).fill_(3.0);
            assertEquals(3.0, g.getAtIndex(ValueLayout.JAVA_DOUBLE, 2));

            assertThrows(IllegalArgumentException.class, () -> Tensor.copyOf(MemorySegment.ofArray(new float[3]), DType.FLOAT32, 2, 2));
            assertThrows(IllegalArgumentException.class, () -> Tensor.fromSegment(g, DType.FLOAT64, 5));
        }
    }

    @Test
    void emptyZerosOnesFull() {
        try (Scope s = Scope.open()) {
            Tensor e = Tensor.empty(new long[] {2, 3}, DType.FLOAT64, Device.CPU);
            assertShape(e, 2, 3);
            assertEquals(DType.FLOAT64, e.dtype());

            Tensor z = Tensor.zeros(2, 3);
            assertEquals(DType.FLOAT32, z.dtype());
            assertArrayEquals(new float[6], z.toFloatArray());
            Tensor zi = Tensor.zeros(new long[] {4}, DType.INT32, Device.CPU);
            assertEquals(DType.INT32, zi.dtype());
            assertArrayEquals(new int[4], zi.toIntArray());

            Tensor o = Tensor.ones(3, 1);
            assertShape(o, 3, 1);
            assertArrayEquals(new float[] {1, 1, 1}, o.toFloatArray());
            Tensor ol = Tensor.ones(new long[] {2}, DType.INT64, Device.CPU);
            assertEquals(DType.INT64, ol.dtype());
            assertArrayEquals(new long[] {1, 1}, ol.toLongArray());
            Tensor ob = Tensor.ones(new long[] {2}, DType.BOOL, Device.CPU);
            assertArrayEquals(new boolean[] {true, true}, ob.toBooleanArray());

            Tensor f = Tensor.full(new long[] {2, 2}, 2.5, DType.FLOAT64, Device.CPU);
            assertArrayEquals(new double[] {2.5, 2.5, 2.5, 2.5}, f.toDoubleArray());
            Tensor fl = Tensor.full(new long[] {3}, -7, DType.INT64, Device.CPU);
            assertEquals(DType.INT64, fl.dtype());
            assertArrayEquals(new long[] {-7, -7, -7}, fl.toLongArray());
            Tensor fb = Tensor.full(new long[] {2}, 0.1, DType.BFLOAT16, Device.CPU);
            assertEquals(DType.BFLOAT16, fb.dtype());
            assertArrayEquals(new float[] {Ref.bf16(0.1f), Ref.bf16(0.1f)}, fb.toFloatArray());

            Tensor zl = Tensor.zerosLike(f);
            assertShape(zl, 2, 2);
            assertEquals(DType.FLOAT64, zl.dtype());
            assertArrayEquals(new double[4], zl.toDoubleArray());
            Tensor ones = Tensor.onesLike(fl);
            assertEquals(DType.INT64, ones.dtype());
            assertArrayEquals(new long[] {1, 1, 1}, ones.toLongArray());

            Tensor none = Tensor.zeros(0, 3);
            assertShape(none, 0, 3);
            assertEquals(0, none.numel());
            assertEquals(0, none.toFloatArray().length);

            assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, -1));
        }
    }

    @Test
    void arangeIntAndFloat() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.arange(5);
            assertEquals(DType.INT64, a.dtype());
            assertArrayEquals(new long[] {0, 1, 2, 3, 4}, a.toLongArray());
            assertArrayEquals(new long[] {2, 5, 8}, Tensor.arange(2, 11, 3).toLongArray());
            assertArrayEquals(new long[] {2, 5, 8}, Tensor.arange(2, 9, 3).toLongArray());
            assertArrayEquals(new long[] {5, 3, 1}, Tensor.arange(5, 0, -2).toLongArray());
            assertArrayEquals(new long[] {5, 4, 3, 2, 1}, Tensor.arange(5, 0, -1).toLongArray());
            assertArrayEquals(new long[] {-3, -1, 1}, Tensor.arange(-3, 2, 2).toLongArray());
            assertArrayEquals(new long[] {0}, Tensor.arange(1).toLongArray());
            Tensor empty = Tensor.arange(3, 3, 1);
            assertShape(empty, 0);
            assertEquals(0, Tensor.arange(5, 0, 1).numel());
            assertEquals(0, Tensor.arange(0, 5, -1).numel());
            assertEquals(0, Tensor.arange(0).numel());

            Tensor f = Tensor.arange(0.0, 1.0, 0.25);
            assertEquals(DType.FLOAT32, f.dtype());
            assertArrayEquals(new float[] {0, 0.25f, 0.5f, 0.75f}, f.toFloatArray());
            // ceil((0 - 1) / -0.3) = 4 elements: 1, 0.7, 0.4, 0.1
            float[] neg = Tensor.arange(1.0, 0.0, -0.3).toFloatArray();
            assertArrayEquals(new float[] {1f, (float) (1 - 0.3), (float) (1 - 2 * 0.3), (float) (1 - 3 * 0.3)}, neg);
            assertArrayEquals(new float[] {-1f, -0.5f, 0f, 0.5f}, Tensor.arange(-1.0, 0.6, 0.5).toFloatArray());
            assertShape(Tensor.arange(1.0, 1.0, 0.5), 0);
            assertEquals(0, Tensor.arange(1.0, 0.0, 0.5).numel());

            assertThrows(IllegalArgumentException.class, () -> Tensor.arange(0, 5, 0));
            assertThrows(IllegalArgumentException.class, () -> Tensor.arange(0.0, 1.0, 0.0));
        }
    }

    @Test
    void scalarTensor() {
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.scalar(2.5);
            assertEquals(0, t.dim());
            assertShape(t);
            assertEquals(1, t.numel());
            assertEquals(DType.FLOAT32, t.dtype());
            assertEquals(2.5, t.item());
            assertEquals((double) (float) 0.1, Tensor.scalar(0.1).item());
        }
    }

    @Test
    void randAndRandn() {
        try (Scope s = Scope.open()) {
            Torch.manualSeed(1234);
            Tensor u = Tensor.rand(10_000);
            assertEquals(DType.FLOAT32, u.dtype());
            double[] uv = u.toDoubleArray();
            double sum = 0;
            for (double v : uv) {
                assertTrue(v >= 0 && v < 1, "rand value out of [0, 1): " + v);
                sum += v;
            }
            assertEquals(0.5, sum / uv.length, 0.02, "mean of rand");

            Tensor u64 = Tensor.rand(new long[] {3, 4}, DType.FLOAT64, Device.CPU);
            assertEquals(DType.FLOAT64, u64.dtype());
            assertShape(u64, 3, 4);
            for (double v : u64.toDoubleArray()) assertTrue(v >= 0 && v < 1);

            double[] n = Tensor.randn(10_000).toDoubleArray();
            double m = 0, sq = 0;
            for (double v : n) m += v;
            m /= n.length;
            for (double v : n) sq += (v - m) * (v - m);
            double std = Math.sqrt(sq / (n.length - 1));
            assertEquals(0, m, 0.05, "mean of randn");
            assertEquals(1, std, 0.05, "std of randn");
            assertEquals(DType.FLOAT64, Tensor.randn(new long[] {2}, DType.FLOAT64, Device.CPU).dtype());

            Torch.manualSeed(7);
            float[] a = Tensor.randn(5).toFloatArray();
            float[] ar = Tensor.rand(5).toFloatArray();
            Torch.manualSeed(7);
            assertArrayEquals(a, Tensor.randn(5).toFloatArray());
            assertArrayEquals(ar, Tensor.rand(5).toFloatArray());
        }
    }

    // =====================================================================================================
    // Dtypes
    // =====================================================================================================

    @Test
    void dtypeRoundTrips() {
        try (Scope s = Scope.open()) {
            Random r = new Random(1);
            double[] d = Ref.normal(r, 8);
            d[0] = 1.0 / 3;
            Tensor t64 = Tensor.of(d);

            // float64 -> float32 rounds like a Java (float) cast; float32 -> float64 is exact
            Tensor t32 = t64.to(DType.FLOAT32);
            assertEquals(DType.FLOAT32, t32.dtype());
            float[] f = Ref.f32(d);
            assertArrayEquals(f, t32.toFloatArray());
            assertArrayEquals(Ref.f64(f), t32.to(DType.FLOAT64).toDoubleArray());

            // bfloat16: round to nearest even on the float bits
            Tensor bf = t32.to(DType.BFLOAT16);
            assertEquals(DType.BFLOAT16, bf.dtype());
            float[] expBf = new float[f.length];
            for (int i = 0; i < f.length; i++) expBf[i] = Ref.bf16(f[i]);
            assertArrayEquals(expBf, bf.toFloatArray());
            assertEquals(Float.intBitsToFloat(0x3EAB0000), Ref.bf16(1f / 3)); // sanity of the reference itself
            assertEquals(Ref.bf16(1f / 3), bf.to(DType.FLOAT32).toFloatArray()[0]);
            // exact ties: even stays, odd rounds up
            float tieEven = Float.intBitsToFloat(0x3F808000), tieOdd = Float.intBitsToFloat(0x3F818000);
            float[] ties = Tensor.of(new float[] {tieEven, tieOdd}).to(DType.BFLOAT16).toFloatArray();
            assertArrayEquals(new float[] {Float.intBitsToFloat(0x3F800000), Float.intBitsToFloat(0x3F820000)}, ties);
            assertArrayEquals(new float[] {Ref.bf16(tieEven), Ref.bf16(tieOdd)}, ties);

            // float16
            Tensor h = t32.to(DType.FLOAT16);
            assertEquals(DType.FLOAT16, h.dtype());
            float[] expH = new float[f.length];
            for (int i = 0; i < f.length; i++) expH[i] = Ref.f16(f[i]);
            assertArrayEquals(expH, h.toFloatArray());
            assertArrayEquals(Ref.f64(expH), h.to(DType.FLOAT64).toDoubleArray());

            // float -> integer truncates toward zero
            Tensor fi = Tensor.of(new double[] {-2.7, -0.5, 0.5, 2.7, 1e3});
            long[] expL = {-2, 0, 0, 2, 1000};
            assertArrayEquals(expL, fi.to(DType.INT64).toLongArray());
            assertEquals(DType.INT64, fi.to(DType.INT64).dtype());
            assertArrayEquals(new int[] {-2, 0, 0, 2, 1000}, fi.to(DType.INT32).toIntArray());
            assertEquals(DType.INT32, fi.to(DType.INT32).dtype());

            // integer <-> integer, integer -> float
            Tensor li = Tensor.of(new long[] {-3, 0, 123456789});
            assertArrayEquals(new int[] {-3, 0, 123456789}, li.to(DType.INT32).toIntArray());
            assertArrayEquals(new long[] {-3, 0, 123456789}, li.to(DType.INT32).to(DType.INT64).toLongArray());
            assertArrayEquals(new float[] {-3, 0, 123456789f}, li.to(DType.FLOAT32).toFloatArray());

            // bool: nonzero is true; true is 1
            Tensor bo = Tensor.of(new float[] {0f, -0.5f, 2f, 0f}).to(DType.BOOL);
            assertEquals(DType.BOOL, bo.dtype());
            assertArrayEquals(new boolean[] {false, true, true, false}, bo.toBooleanArray());
            assertArrayEquals(new float[] {0, 1, 1, 0}, bo.to(DType.FLOAT32).toFloatArray());
            assertArrayEquals(new long[] {0, 1, 1, 0}, bo.to(DType.INT64).toLongArray());
            assertArrayEquals(new boolean[] {true, false, true}, li.toBooleanArray());

            // toXxxArray converts from any dtype
            assertArrayEquals(new int[] {-2, 0, 0, 2, 1000}, fi.toIntArray());
            assertArrayEquals(new long[] {-3, 0, 123456789}, li.to(DType.INT32).toLongArray());
            assertArrayEquals(expBf, bf.toFloatArray());
            assertArrayEquals(Ref.f64(expBf), bf.toDoubleArray());
        }
    }

    // =====================================================================================================
    // Metadata
    // =====================================================================================================

    @Test
    void metadata() {
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.zeros(2, 3, 4);
            assertShape(t, 2, 3, 4);
            assertEquals(3, t.dim());
            assertEquals(4, t.size(-1));
            assertEquals(3, t.size(-2));
            assertEquals(2, t.size(0));
            assertEquals(24, t.numel());
            assertEquals(DType.FLOAT32, t.dtype());
            assertEquals(Device.CPU, t.device());
            assertArrayEquals(new long[] {12, 4, 1}, t.strides());
            assertTrue(t.isContiguous());
            assertThrows(TorchException.class, () -> t.size(3));
            assertThrows(TorchException.class, () -> t.size(-4));
            t.shape()[0] = 100; // shape() is a copy
            assertShape(t, 2, 3, 4);

            Tensor tr = t.transpose(0, 2);
            assertShape(tr, 4, 3, 2);
            assertArrayEquals(new long[] {1, 4, 12}, tr.strides());
            assertFalse(tr.isContiguous());
            Tensor c = tr.contiguous();
            assertArrayEquals(new long[] {6, 2, 1}, c.strides());
            assertTrue(c.isContiguous());
            assertFalse(t.mT().isContiguous());

            Tensor sc = Tensor.scalar(1);
            assertEquals(0, sc.dim());
            assertEquals(1, sc.numel());
            assertArrayEquals(new long[0], sc.strides());

            Tensor big = Tensor.zeros(new long[] {5, 7}, DType.BFLOAT16, Device.CPU);
            String str = big.toString();
            assertTrue(str.contains("bfloat16") && str.contains("[5, 7]"), str);
            String small = Tensor.of(new long[] {4, 5}, 1, 2).toString();
            assertTrue(small.contains("int64") && small.contains("[1, 2]"), small);
            assertTrue(small.contains("4") && small.contains("5"), small);
        }
    }

    // =====================================================================================================
    // Conversion and copies
    // =====================================================================================================

    @Test
    void toDtypeAndDevice() {
        try (Scope s = Scope.open()) {
            double[] d = Ref.normal(new Random(2), 6);
            Tensor t = Tensor.of(Ref.f32(d), 2, 3);
            Tensor same = t.to(DType.FLOAT32);
            assertNotSame(t, same);
            assertEquals(DType.FLOAT32, same.dtype());
            assertArrayEquals(t.toFloatArray(), same.toFloatArray());
            same.close();
            assertArrayEquals(Ref.f32(d), t.toFloatArray()); // closing the alias leaves the original usable

            Tensor c = t.to(Device.CPU, DType.FLOAT64);
            assertEquals(DType.FLOAT64, c.dtype());
            assertEquals(Device.CPU, c.device());
            assertShape(c, 2, 3);
            assertArrayEquals(Ref.roundF32(d), c.toDoubleArray());

            Tensor k = t.to(Device.CPU);
            assertEquals(DType.FLOAT32, k.dtype());
            assertArrayEquals(Ref.f32(d), k.toFloatArray());
            Tensor kb = t.to(Device.CPU, DType.BFLOAT16);
            float[] f = Ref.f32(d);
            float[] exp = new float[6];
            for (int i = 0; i < 6; i++) exp[i] = Ref.bf16(f[i]);
            assertArrayEquals(exp, kb.toFloatArray());
        }
    }

    @Test
    void copyFillZero() {
        try (Scope s = Scope.open()) {
            Tensor dst = Tensor.zeros(new long[] {2, 3}, DType.FLOAT64, Device.CPU);
            float[] row = {0.1f, -2f, 3.5f};
            Tensor ret = dst.copy_(Tensor.of(row)); // broadcasts [3] over [2, 3], float32 -> float64
            assertSame(dst, ret);
            assertEquals(DType.FLOAT64, dst.dtype());
            assertArrayEquals(new double[] {0.1f, -2f, 3.5f, 0.1f, -2f, 3.5f}, dst.toDoubleArray());

            Tensor li = Tensor.zeros(new long[] {3}, DType.INT64, Device.CPU).copy_(Tensor.of(new double[] {1.9, -1.9, 7}));
            assertArrayEquals(new long[] {1, -1, 7}, li.toLongArray());

            // copy into a non-contiguous view writes through to the base
            Tensor base = Tensor.zeros(2, 3);
            base.transpose(0, 1).copy_(Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2));
            assertArrayEquals(new float[] {1, 3, 5, 2, 4, 6}, base.toFloatArray());

            assertThrows(TorchException.class, () -> Tensor.zeros(2, 3).copy_(Tensor.zeros(4)));

            Tensor f = Tensor.zeros(2, 2);
            assertSame(f, f.fill_(3.5));
            assertArrayEquals(new float[] {3.5f, 3.5f, 3.5f, 3.5f}, f.toFloatArray());
            Tensor fi = Tensor.zeros(new long[] {2}, DType.INT32, Device.CPU).fill_(7);
            assertArrayEquals(new int[] {7, 7}, fi.toIntArray());
            Tensor b = Tensor.zeros(2, 3);
            b.select(0, 1).fill_(5); // a view shares storage with its base
            b.slice(1, 0, 3, 2).select(0, 0).fill_(-1);
            assertArrayEquals(new float[] {-1, 0, -1, 5, 5, 5}, b.toFloatArray());
            assertSame(b, b.zero_());
            assertArrayEquals(new float[6], b.toFloatArray());
        }
    }

    @Test
    void cloneShareItem() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
            Tensor c = a.clone();
            assertArrayEquals(a.toFloatArray(), c.toFloatArray());
            c.fill_(9);
            assertArrayEquals(new float[] {1, 2, 3, 4}, a.toFloatArray());
            assertArrayEquals(new float[] {9, 9, 9, 9}, c.toFloatArray());
            Tensor ct = a.mT().clone();
            assertArrayEquals(new float[] {1, 3, 2, 4}, ct.toFloatArray());

            Tensor sh = a.share();
            assertNotSame(a, sh);
            sh.select(0, 0).fill_(0);
            assertArrayEquals(new float[] {0, 0, 3, 4}, a.toFloatArray()); // same storage
            a.close();
            assertTrue(a.isClosed());
            assertFalse(sh.isClosed());
            assertArrayEquals(new float[] {0, 0, 3, 4}, sh.toFloatArray()); // separate ownership
            assertThrows(IllegalStateException.class, a::toFloatArray);
            assertThrows(IllegalStateException.class, () -> a.add(1));
            a.close(); // twice is harmless

            Tensor det = sh.detach();
            det.fill_(2);
            assertArrayEquals(new float[] {2, 2, 2, 2}, sh.toFloatArray());

            assertEquals(Math.PI, Tensor.of(new double[] {Math.PI}).item());
            assertEquals(0.25, Tensor.of(new float[] {0.25f}, 1, 1).item());
            assertEquals(-5.0, Tensor.of(new long[] {-5}).item());
            long big = (1L << 53) + 1; // not representable as a double
            assertEquals(big, Tensor.of(new long[] {big}).itemLong());
            assertEquals(3, Tensor.of(new int[] {3}).itemLong());
            assertEquals(1.0, Tensor.of(new boolean[] {true}).item());
            assertThrows(TorchException.class, () -> Tensor.zeros(2).item());
            assertThrows(TorchException.class, () -> Tensor.zeros(2).itemLong());
        }
    }

    // =====================================================================================================
    // Arithmetic
    // =====================================================================================================

    private static final long[] S23 = {2, 3}, S3 = {3}, S21 = {2, 1}, S13 = {1, 3};

    @Test
    void binaryArithmeticWithBroadcasting() {
        try (Scope s = Scope.open()) {
            Random r = new Random(3);
            double[] a = Ref.normal(r, 6), b = Ref.uniform(r, 3, 0.5, 2), c = Ref.normal(r, 2), d = Ref.uniform(r, 3, 0.5, 2);
            Tensor ta = Tensor.of(a, S23), tb = Tensor.of(b, S3), tc = Tensor.of(c, S21), td = Tensor.of(d, S13);

            assertClose64(Ref.binary(a, S23, b, S3, Double::sum), ta.add(tb), "add [2,3]+[3]");
            assertShape(tc.add(td), 2, 3);
            assertClose64(Ref.binary(c, S21, d, S13, Double::sum), tc.add(td), "add [2,1]+[1,3]");
            assertClose64(Ref.binary(a, S23, b, S3, (x, y) -> x + 2.5 * y), ta.add(tb, 2.5), "add alpha");
            assertClose64(Ref.binary(c, S21, d, S13, (x, y) -> x - 0.5 * y), tc.add(td, -0.5), "add alpha");
            assertClose64(Ref.binary(a, S23, b, S3, (x, y) -> x - y), ta.sub(tb), "sub");
            assertClose64(Ref.binary(c, S21, d, S13, (x, y) -> x - y), tc.sub(td), "sub [2,1]-[1,3]");
            assertClose64(Ref.binary(a, S23, b, S3, (x, y) -> x * y), ta.mul(tb), "mul");
            assertClose64(Ref.binary(c, S21, d, S13, (x, y) -> x * y), tc.mul(td), "mul [2,1]*[1,3]");
            assertClose64(Ref.binary(a, S23, b, S3, (x, y) -> x / y), ta.div(tb), "div");
            assertClose64(Ref.binary(c, S21, d, S13, (x, y) -> x / y), tc.div(td), "div [2,1]/[1,3]");
            // the broadcast operand may come first
            assertClose64(Ref.binary(b, S3, a, S23, (x, y) -> x - y), tb.sub(ta), "sub [3]-[2,3]");

            assertThrows(TorchException.class, () -> ta.add(Tensor.zeros(new long[] {4}, DType.FLOAT64, Device.CPU)));
            assertThrows(TorchException.class, () -> ta.mul(Tensor.zeros(new long[] {3, 3}, DType.FLOAT64, Device.CPU)));

            // float32
            float[] af = Ref.f32(a), bf = Ref.f32(b);
            Tensor fa = Tensor.of(af, S23), fb = Tensor.of(bf, S3);
            assertClose32(Ref.binary(Ref.f64(af), S23, Ref.f64(bf), S3, Double::sum), fa.add(fb), "add f32");
            assertClose32(Ref.binary(Ref.f64(af), S23, Ref.f64(bf), S3, (x, y) -> x / y), fa.div(fb), "div f32");
        }
    }

    @Test
    void scalarArithmetic() {
        try (Scope s = Scope.open()) {
            double[] a = Ref.normal(new Random(4), 6);
            Tensor ta = Tensor.of(a, S23);
            assertClose64(map(a, x -> x + 1.5), ta.add(1.5), "add scalar");
            assertClose64(map(a, x -> x - 0.25), ta.sub(0.25), "sub scalar");
            assertClose64(map(a, x -> 2 - x), ta.rsub(2), "rsub");
            assertClose64(map(a, x -> x * 3), ta.mul(3), "mul scalar");
            assertClose64(map(a, x -> x * -0.1), ta.mul(-0.1), "mul scalar");
            assertClose64(map(a, x -> x / 4), ta.div(4), "div scalar");
            assertClose64(map(a, x -> x / 0.3), ta.div(0.3), "div scalar");
            assertShape(ta.add(1), 2, 3);

            Tensor tf = Tensor.of(Ref.f32(a), S23);
            double[] af = Ref.roundF32(a);
            assertClose32(map(af, x -> x + 0.1), tf.add(0.1), "add scalar f32");
            assertClose32(map(af, x -> x * 2.5), tf.mul(2.5), "mul scalar f32");
            assertClose32(map(af, x -> 1 - x), tf.rsub(1), "rsub f32");
        }
    }

    /** add/sub/rsub on integer tensors (torch: torch.tensor([1, -2, 3]) + 5 is int64 [6, 3, 8]). */
    @Test
    void integerAddSubKeepIntegerDtype() {
        try (Scope s = Scope.open()) {
            Tensor l = Tensor.of(new long[] {1, -2, 3});
            Tensor add = l.add(5);
            assertEquals(DType.INT64, add.dtype());
            assertArrayEquals(new long[] {6, 3, 8}, add.toLongArray());
            assertEquals(DType.INT64, l.sub(1).dtype());
            assertArrayEquals(new long[] {0, -3, 2}, l.sub(1).toLongArray());
            assertArrayEquals(new long[] {9, 12, 7}, l.rsub(10).toLongArray());
            assertEquals(DType.INT64, l.rsub(10).dtype());
            assertArrayEquals(new long[] {2, -4, 6}, l.add(l).toLongArray());
            assertArrayEquals(new long[] {0, 0, 0}, l.sub(l).toLongArray());
            assertArrayEquals(new long[] {3, 0, 5}, l.add(Tensor.of(new long[] {2}, 1)).toLongArray()); // [3] + [1]
            assertArrayEquals(new long[] {5, 2, 7}, l.add(Tensor.of(new long[] {2}, 1), 2).toLongArray()); // integral alpha
            long big = (1L << 53) + 1; // exact integer arithmetic, not through float64
            assertArrayEquals(new long[] {big + 1}, Tensor.of(new long[] {big}, 1).add(1).toLongArray());

            Tensor i32 = Tensor.of(new int[] {1, 2, 3});
            assertEquals(DType.INT32, i32.add(2).dtype());
            assertArrayEquals(new int[] {3, 4, 5}, i32.add(2).toIntArray());
            assertEquals(DType.INT64, i32.add(l).dtype()); // int32 + int64 promotes to int64
            assertArrayEquals(new long[] {2, 0, 6}, i32.add(l).toLongArray());
        }
    }

    @Test
    void integerMulDivPowAndPromotion() {
        try (Scope s = Scope.open()) {
            Tensor l = Tensor.of(new long[] {1, -2, 3});
            assertEquals(DType.INT64, l.mul(3).dtype());
            assertArrayEquals(new long[] {3, -6, 9}, l.mul(3).toLongArray());
            assertArrayEquals(new long[] {1, 4, 9}, l.mul(l).toLongArray());
            assertArrayEquals(new long[] {-1, 2, -3}, l.neg().toLongArray());
            assertEquals(DType.INT64, l.neg().dtype());
            assertArrayEquals(new long[] {1, 2, 3}, l.abs().toLongArray());
            assertArrayEquals(new long[] {1, 4, 9}, l.pow(2).toLongArray());
            assertEquals(DType.INT64, l.pow(2).dtype());
            assertEquals(DType.INT32, Tensor.of(new int[] {1, 2}).mul(3).dtype());

            // true division gives the default float dtype, like torch
            Tensor q = l.div(2);
            assertEquals(DType.FLOAT32, q.dtype());
            assertArrayEquals(new float[] {0.5f, -1f, 1.5f}, q.toFloatArray());
            Tensor qt = l.div(Tensor.of(new long[] {2, 4, -3}));
            assertEquals(DType.FLOAT32, qt.dtype());
            assertArrayEquals(new float[] {0.5f, -0.5f, -1f}, qt.toFloatArray());

            // float32 + float64 tensor promotes to float64; int64 + float32 tensor is float32
            Tensor f = Tensor.of(new float[] {1, 2, 3});
            assertEquals(DType.FLOAT64, f.add(Tensor.of(new double[] {1, 1, 1})).dtype());
            assertEquals(DType.FLOAT32, l.mul(f).dtype());
            assertArrayEquals(new float[] {1, -4, 9}, l.mul(f).toFloatArray());
            assertArrayEquals(new float[] {2, 0, 6}, f.add(l).toFloatArray());
            // a float32 tensor with a float scalar stays float32; bf16 stays bf16
            assertEquals(DType.FLOAT32, f.mul(0.5).dtype());
            assertEquals(DType.BFLOAT16, f.to(DType.BFLOAT16).add(0.5).dtype());
            assertArrayEquals(new float[] {1.5f, 2.5f, 3.5f}, f.to(DType.BFLOAT16).add(0.5).toFloatArray());
            assertEquals(DType.FLOAT16, f.to(DType.FLOAT16).mul(0.5).dtype());
        }
    }

    /** torch.tensor([1, -2, 3]) * 2.5 is float32: a Python number does not raise a tensor's dtype beyond the default. */
    @Test
    void integerTensorTimesFloatScalarIsDefaultFloat() {
        try (Scope s = Scope.open()) {
            Tensor l = Tensor.of(new long[] {1, -2, 3});
            Tensor m = l.mul(2.5);
            assertArrayEquals(new double[] {2.5, -5, 7.5}, m.toDoubleArray());
            assertEquals(DType.FLOAT32, m.dtype(), "int64 tensor * 2.5 should be float32 as in torch");
            assertEquals(DType.FLOAT32, l.div(0.5).dtype(), "int64 tensor / 0.5 should be float32 as in torch");
            assertEquals(DType.FLOAT32, l.pow(0.5).dtype(), "int64 tensor ** 0.5 should be float32 as in torch");
            Tensor c = l.clamp(-1.5, 2.5);
            assertEquals(DType.FLOAT32, c.dtype(), "int64 clamp with float bounds should be float32 as in torch");
            assertArrayEquals(new float[] {1, -1.5f, 2.5f}, c.toFloatArray());
            Tensor a = l.add(0.5);
            assertEquals(DType.FLOAT32, a.dtype(), "int64 tensor + 0.5 should be float32 as in torch");
            assertArrayEquals(new float[] {1.5f, -1.5f, 3.5f}, a.toFloatArray());
            Tensor b = Tensor.of(new boolean[] {true, false}).mul(2.5);
            assertEquals(DType.FLOAT32, b.dtype(), "bool tensor * 2.5 should be float32 as in torch");
            assertArrayEquals(new float[] {2.5f, 0}, b.toFloatArray());
            // a float tensor keeps its own dtype
            assertEquals(DType.FLOAT64, Tensor.of(new double[] {1, 2}).mul(2.5).dtype());
        }
    }

    @Test
    void power() {
        try (Scope s = Scope.open()) {
            Random r = new Random(5);
            double[] a = Ref.uniform(r, 6, 0.1, 3), e = Ref.uniform(r, 3, -2, 2), n = Ref.normal(r, 6);
            Tensor ta = Tensor.of(a, S23);
            assertClose64(map(a, x -> Math.pow(x, 1.7)), ta.pow(1.7), "pow scalar");
            assertClose64(map(a, x -> 1 / Math.sqrt(x)), ta.pow(-0.5), "pow -0.5");
            assertClose64(map(n, x -> x * x), Tensor.of(n, S23).pow(2), "pow 2 of negatives");
            assertClose64(map(n, x -> x * x * x), Tensor.of(n, S23).pow(3), "pow 3 of negatives");
            assertClose64(Ref.binary(a, S23, e, S3, Math::pow), ta.pow(Tensor.of(e, S3)), "pow tensor");
            double[] c = Ref.uniform(r, 2, 0.5, 2), d = Ref.uniform(r, 3, -1, 1);
            assertClose64(Ref.binary(c, S21, d, S13, Math::pow), Tensor.of(c, S21).pow(Tensor.of(d, S13)), "pow [2,1]^[1,3]");
            Tensor f = Tensor.of(Ref.f32(a), S23);
            assertClose32(map(Ref.roundF32(a), x -> Math.pow(x, 1.7)), f.pow(1.7), "pow f32");
        }
    }

    @Test
    void unaryFunctions() {
        try (Scope s = Scope.open()) {
            Random r = new Random(6);
            double[] x = Ref.uniform(r, 24, -3, 3);
            x[0] = 0;
            x[1] = -0.0;
            double[] pos = Ref.uniform(r, 24, 0.05, 5);
            checkUnary("neg", x, Tensor::neg, v -> -v);
            checkUnary("abs", x, Tensor::abs, Math::abs);
            checkUnary("sqrt", pos, Tensor::sqrt, Math::sqrt);
            checkUnary("rsqrt", pos, Tensor::rsqrt, v -> 1 / Math.sqrt(v));
            checkUnary("exp", x, Tensor::exp, Math::exp);
            checkUnary("log", pos, Tensor::log, Math::log);
            checkUnary("sin", x, Tensor::sin, Math::sin);
            checkUnary("cos", x, Tensor::cos, Math::cos);
            checkUnary("tanh", x, Tensor::tanh, Math::tanh);
            checkUnary("sigmoid", x, Tensor::sigmoid, Ref::sigmoid);
            checkUnary("relu", x, Tensor::relu, v -> Math.max(v, 0));
            checkUnary("silu", x, Tensor::silu, v -> v * Ref.sigmoid(v));
            checkUnary("gelu", x, Tensor::gelu, Ref::gelu);
            checkUnary("gelu(false)", x, t -> t.gelu(false), Ref::gelu);
            checkUnary("gelu tanh", x, t -> t.gelu(true), Ref::geluTanh);
            checkUnary("clamp", x, t -> t.clamp(-0.5, 1.25), v -> Math.min(Math.max(v, -0.5), 1.25));

            // hand-checked constants
            assertEquals(0.8413447460685429, Ref.gelu(1), 1e-12);
            assertEquals(0.8411919906082768, Ref.geluTanh(1), 1e-12);
            assertEquals(0.8427007929497149, Ref.erf(1), 1e-13);
            Tensor special = Tensor.of(new double[] {-1, 0});
            assertTrue(Double.isNaN(special.sqrt().toDoubleArray()[0]));
            assertEquals(Double.NEGATIVE_INFINITY, special.log().toDoubleArray()[1]);
            assertEquals(Double.POSITIVE_INFINITY, special.rsqrt().toDoubleArray()[1]);
            assertArrayEquals(new long[] {0, 0, 3}, Tensor.of(new long[] {-5, 0, 3}).relu().toLongArray());
            assertArrayEquals(new long[] {-1, 0, 2}, Tensor.of(new long[] {-5, 0, 3}).clamp(-1, 2).toLongArray());
        }
    }

    /** Checks op against ref on [2, 3, 4] tensors in float64 (tight) and float32 (1e-5 relative). */
    private static void checkUnary(String name, double[] x, UnaryOperator<Tensor> op, DoubleUnaryOperator ref) {
        long[] shape = {2, 3, 4};
        Tensor t64 = op.apply(Tensor.of(x, shape));
        assertShape(t64, shape);
        assertClose64(map(x, ref), t64, name + " f64");
        double[] xf = Ref.roundF32(x);
        assertClose32(map(xf, ref), op.apply(Tensor.of(Ref.f32(x), shape)), name + " f32");
        // a non-contiguous input
        Tensor tr = op.apply(Tensor.of(x, shape).transpose(0, 2));
        double[] expT = new double[x.length];
        long[] ts = {4, 3, 2};
        for (int i = 0; i < expT.length; i++) {
            int[] idx = Ref.unravel(i, ts);
            expT[i] = ref.applyAsDouble(x[Ref.ravel(new int[] {idx[2], idx[1], idx[0]}, shape)]);
        }
        assertClose64(expT, tr, name + " transposed");
    }

    private static double[] map(double[] x, DoubleUnaryOperator f) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = f.applyAsDouble(x[i]);
        return out;
    }

    // =====================================================================================================
    // Comparisons and logic
    // =====================================================================================================

    @Test
    void comparisons() {
        try (Scope s = Scope.open()) {
            double[] a = {1, 2, 3, 4, 2, 6};
            double[] b = {2, 2, 6};
            Tensor ta = Tensor.of(Ref.f32(a), S23), tb = Tensor.of(Ref.f32(b), S3);
            checkCompare("eq", ta.eq(tb), Ref.binary(a, S23, b, S3, (x, y) -> x == y ? 1 : 0));
            checkCompare("ne", ta.ne(tb), Ref.binary(a, S23, b, S3, (x, y) -> x != y ? 1 : 0));
            checkCompare("lt", ta.lt(tb), Ref.binary(a, S23, b, S3, (x, y) -> x < y ? 1 : 0));
            checkCompare("le", ta.le(tb), Ref.binary(a, S23, b, S3, (x, y) -> x <= y ? 1 : 0));
            checkCompare("gt", ta.gt(tb), Ref.binary(a, S23, b, S3, (x, y) -> x > y ? 1 : 0));
            checkCompare("ge", ta.ge(tb), Ref.binary(a, S23, b, S3, (x, y) -> x >= y ? 1 : 0));
            double[] c = {2, 5}, d = {1, 2, 5};
            Tensor tc = Tensor.of(c, S21), td = Tensor.of(d, S13);
            checkCompare("lt [2,1]<[1,3]", tc.lt(td), Ref.binary(c, S21, d, S13, (x, y) -> x < y ? 1 : 0));
            checkCompare("ge [2,1]>=[1,3]", tc.ge(td), Ref.binary(c, S21, d, S13, (x, y) -> x >= y ? 1 : 0));

            checkCompare("eq s", ta.eq(2), map(a, x -> x == 2 ? 1 : 0));
            checkCompare("ne s", ta.ne(2), map(a, x -> x != 2 ? 1 : 0));
            checkCompare("lt s", ta.lt(3), map(a, x -> x < 3 ? 1 : 0));
            checkCompare("le s", ta.le(3), map(a, x -> x <= 3 ? 1 : 0));
            checkCompare("gt s", ta.gt(3), map(a, x -> x > 3 ? 1 : 0));
            checkCompare("ge s", ta.ge(3), map(a, x -> x >= 3 ? 1 : 0));
            checkCompare("gt 2.5", ta.gt(2.5), map(a, x -> x > 2.5 ? 1 : 0));
            // integers against fractional scalars compare exactly (no truncation of the scalar)
            Tensor l = Tensor.of(new long[] {1, 2, 3});
            checkCompare("int lt 2.5", l.lt(2.5), new double[] {1, 1, 0});
            checkCompare("int eq 2", l.eq(2), new double[] {0, 1, 0});
            checkCompare("int ge 1.5", l.ge(1.5), new double[] {0, 1, 1});
        }
    }

    private static void checkCompare(String what, Tensor t, double[] expected01) {
        assertEquals(DType.BOOL, t.dtype(), what + ": dtype");
        assertClose(expected01, t.toDoubleArray(), 0, 0, what);
    }

    @Test
    void logicalOps() {
        try (Scope s = Scope.open()) {
            boolean[] a = {true, false, true, false, true, true};
            boolean[] b = {true, false, false};
            Tensor ta = Tensor.of(a, S23), tb = Tensor.of(b, S3);
            boolean[] not = new boolean[6], and = new boolean[6], or = new boolean[6];
            for (int i = 0; i < 6; i++) {
                not[i] = !a[i];
                and[i] = a[i] && b[i % 3];
                or[i] = a[i] || b[i % 3];
            }
            assertEquals(DType.BOOL, ta.logicalNot().dtype());
            assertArrayEquals(not, ta.logicalNot().toBooleanArray());
            assertArrayEquals(and, ta.logicalAnd(tb).toBooleanArray());
            assertArrayEquals(or, ta.logicalOr(tb).toBooleanArray());
            assertEquals(DType.BOOL, ta.logicalOr(tb).dtype());
            // on numbers: nonzero is true
            Tensor x = Tensor.of(new float[] {0, 1.5f, -2, 0});
            Tensor y = Tensor.of(new float[] {3, 0, 1, 0});
            assertArrayEquals(new boolean[] {true, false, false, true}, x.logicalNot().toBooleanArray());
            assertArrayEquals(new boolean[] {false, false, true, false}, x.logicalAnd(y).toBooleanArray());
            assertArrayEquals(new boolean[] {true, true, true, false}, x.logicalOr(y).toBooleanArray());
        }
    }

    // =====================================================================================================
    // Linear algebra
    // =====================================================================================================

    @Test
    void matmul() {
        try (Scope s = Scope.open()) {
            Random r = new Random(7);
            double[] a = Ref.normal(r, 12), b = Ref.normal(r, 20);
            Tensor m = Tensor.of(a, 3, 4).matmul(Tensor.of(b, 4, 5));
            assertShape(m, 3, 5);
            assertClose64(Ref.matmul(a, b, 3, 4, 5), m, "matmul 2-d");
            Tensor mf = Tensor.of(Ref.f32(a), 3, 4).matmul(Tensor.of(Ref.f32(b), 4, 5));
            assertClose(Ref.matmul(Ref.roundF32(a), Ref.roundF32(b), 3, 4, 5), mf.toDoubleArray(), 1e-5, 1e-5, "matmul f32");

            // batched: [2, 3, 4] @ [2, 4, 5]
            double[] ba = Ref.normal(r, 24), bb = Ref.normal(r, 40);
            Tensor bm = Tensor.of(ba, 2, 3, 4).matmul(Tensor.of(bb, 2, 4, 5));
            assertShape(bm, 2, 3, 5);
            double[] exp = new double[30];
            for (int k = 0; k < 2; k++) {
                double[] p = Ref.matmul(java.util.Arrays.copyOfRange(ba, k * 12, k * 12 + 12),
                        java.util.Arrays.copyOfRange(bb, k * 20, k * 20 + 20), 3, 4, 5);
                System.arraycopy(p, 0, exp, k * 15, 15);
            }
            assertClose64(exp, bm, "matmul batched");

            // batch broadcast: [2, 3, 4] @ [4, 5]
            Tensor bc = Tensor.of(ba, 2, 3, 4).matmul(Tensor.of(b, 4, 5));
            assertShape(bc, 2, 3, 5);
            double[] expB = new double[30];
            for (int k = 0; k < 2; k++) {
                System.arraycopy(Ref.matmul(java.util.Arrays.copyOfRange(ba, k * 12, k * 12 + 12), b, 3, 4, 5), 0, expB, k * 15, 15);
            }
            assertClose64(expB, bc, "matmul broadcast batch");

            // matrix-vector and vector-vector
            double[] v = Ref.normal(r, 4);
            Tensor mv = Tensor.of(a, 3, 4).matmul(Tensor.of(v));
            assertShape(mv, 3);
            assertClose64(Ref.matmul(a, v, 3, 4, 1), mv, "matmul matrix-vector");
            Tensor dot = Tensor.of(v).matmul(Tensor.of(v));
            assertShape(dot);
            assertClose64(Ref.matmul(v, v, 1, 4, 1), dot, "matmul dot");
            // a transposed (non-contiguous) operand
            Tensor tt = Tensor.of(b, 4, 5).mT().matmul(Tensor.of(a, 3, 4).mT());
            double[] bt = new double[20], at = new double[12];
            for (int i = 0; i < 4; i++) for (int j = 0; j < 5; j++) bt[j * 4 + i] = b[i * 5 + j];
            for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) at[j * 3 + i] = a[i * 4 + j];
            assertClose64(Ref.matmul(bt, at, 5, 4, 3), tt, "matmul of transposes");

            assertThrows(TorchException.class, () -> Tensor.of(a, 3, 4).matmul(Tensor.of(a, 3, 4)));
            assertThrows(TorchException.class, () -> Tensor.of(a, 3, 4).matmul(Tensor.of(Ref.f32(b), 4, 5)));
        }
    }

    @Test
    void linear() {
        try (Scope s = Scope.open()) {
            Random r = new Random(8);
            double[] x = Ref.normal(r, 24), w = Ref.normal(r, 20), b = Ref.normal(r, 5);
            Tensor tx = Tensor.of(x, 2, 3, 4), tw = Tensor.of(w, 5, 4), tb = Tensor.of(b);
            double[] exp = new double[30], expNb = new double[30];
            for (int i = 0; i < 6; i++)
                for (int o = 0; o < 5; o++) {
                    double acc = 0;
                    for (int k = 0; k < 4; k++) acc += x[i * 4 + k] * w[o * 4 + k];
                    expNb[i * 5 + o] = acc;
                    exp[i * 5 + o] = acc + b[o];
                }
            Tensor y = tx.linear(tw, tb);
            assertShape(y, 2, 3, 5);
            assertClose64(exp, y, "linear with bias");
            assertClose64(expNb, tx.linear(tw), "linear without bias");
            assertClose64(expNb, tx.linear(tw, null), "linear with null bias");
            Tensor yf = Tensor.of(Ref.f32(x), 2, 3, 4).linear(Tensor.of(Ref.f32(w), 5, 4), Tensor.of(Ref.f32(b)));
            assertClose(exp, yf.toDoubleArray(), 1e-4, 1e-5, "linear f32");
            assertThrows(TorchException.class, () -> tx.linear(Tensor.of(w, 4, 5)));
            assertThrows(TorchException.class, () -> tx.linear(tw, Tensor.of(b, 1, 5)));
        }
    }

    // =====================================================================================================
    // Reductions
    // =====================================================================================================

    private static final long[] S234 = {2, 3, 4};

    @Test
    void sumAndMean() {
        try (Scope s = Scope.open()) {
            double[] x = Ref.normal(new Random(9), 24);
            Tensor t = Tensor.of(x, S234);
            double total = 0;
            for (double v : x) total += v;

            Tensor all = t.sum();
            assertShape(all);
            assertEquals(total, all.item(), 1e-12);
            assertEquals(total / 24, t.mean().item(), 1e-12);
            assertShape(t.mean());

            double[] s1 = Ref.sumOver(x, S234, 1);
            assertShape(t.sum(1, false), 2, 4);
            assertClose64(s1, t.sum(1, false), "sum dim 1");
            assertShape(t.sum(1, true), 2, 1, 4);
            assertClose64(s1, t.sum(1, true), "sum dim 1 keepDim");
            assertClose64(Ref.sumOver(x, S234, 2), t.sum(-1, false), "sum dim -1");
            assertShape(t.sum(-1, false), 2, 3);
            double[] s02 = Ref.sumOver(x, S234, 0, 2);
            assertShape(t.sum(new long[] {0, 2}, false), 3);
            assertClose64(s02, t.sum(new long[] {0, 2}, false), "sum dims 0,2");
            assertShape(t.sum(new long[] {0, -1}, true), 1, 3, 1);
            assertClose64(s02, t.sum(new long[] {0, -1}, true), "sum dims 0,-1 keepDim");

            assertClose64(map(s1, v -> v / 3), t.mean(1, false), "mean dim 1");
            assertShape(t.mean(0, true), 1, 3, 4);
            assertClose64(map(Ref.sumOver(x, S234, 0), v -> v / 2), t.mean(0, true), "mean dim 0 keepDim");
            assertClose64(map(s02, v -> v / 8), t.mean(new long[] {0, 2}, false), "mean dims 0,2");
            assertShape(t.mean(new long[] {1, 2}, true), 2, 1, 1);
            assertClose64(map(Ref.sumOver(x, S234, 1, 2), v -> v / 12), t.mean(new long[] {1, 2}, true), "mean dims 1,2");

            // float32
            Tensor f = Tensor.of(Ref.f32(x), S234);
            assertClose32(Ref.sumOver(Ref.roundF32(x), S234, 1), f.sum(1, false), "sum f32");
            assertClose32(map(Ref.sumOver(Ref.roundF32(x), S234, 2), v -> v / 4), f.mean(2, false), "mean f32");

            // integer sums are int64, like torch
            Tensor i = Tensor.of(new int[] {1, 2, 3, 4, 5, 6}, 2, 3);
            assertEquals(DType.INT64, i.sum().dtype());
            assertEquals(21, i.sum().itemLong());
            assertArrayEquals(new long[] {6, 15}, i.sum(1, false).toLongArray());
            Tensor bools = Tensor.of(new boolean[] {true, false, true, true});
            assertEquals(DType.INT64, bools.sum().dtype());
            assertEquals(3, bools.sum().itemLong());
            assertThrows(TorchException.class, () -> t.sum(3, false));
        }
    }

    @Test
    void maxMinArgmax() {
        try (Scope s = Scope.open()) {
            double[] x = Ref.normal(new Random(10), 24);
            Tensor t = Tensor.of(x, S234);
            int amaxFlat = 0, aminFlat = 0;
            for (int i = 1; i < 24; i++) {
                if (x[i] > x[amaxFlat]) amaxFlat = i;
                if (x[i] < x[aminFlat]) aminFlat = i;
            }
            assertShape(t.max());
            assertEquals(x[amaxFlat], t.max().item());
            assertEquals(x[aminFlat], t.min().item());
            assertEquals(DType.INT64, t.argmax().dtype());
            assertShape(t.argmax());
            assertEquals(amaxFlat, t.argmax().itemLong());

            for (int dim = 0; dim < 3; dim++) {
                double[] mx = new double[24 / (int) S234[dim]], mn = new double[mx.length];
                long[] imx = new long[mx.length], imn = new long[mx.length];
                java.util.Arrays.fill(mx, Double.NEGATIVE_INFINITY);
                java.util.Arrays.fill(mn, Double.POSITIVE_INFINITY);
                boolean[] red = new boolean[3];
                red[dim] = true;
                for (int i = 0; i < 24; i++) {
                    int[] idx = Ref.unravel(i, S234);
                    int k = Ref.keptIndex(idx, S234, red);
                    if (x[i] > mx[k]) { mx[k] = x[i]; imx[k] = idx[dim]; }
                    if (x[i] < mn[k]) { mn[k] = x[i]; imn[k] = idx[dim]; }
                }
                long[] kept = Ref.keptShape(S234, red);
                long[] keptDim = S234.clone();
                keptDim[dim] = 1;
                String w = "dim " + dim;

                List<Tensor> m = t.max(dim, false);
                assertEquals(2, m.size());
                assertShape(m.get(0), kept);
                assertClose64(mx, m.get(0), "max values " + w);
                assertEquals(DType.INT64, m.get(1).dtype());
                assertArrayEquals(imx, m.get(1).toLongArray(), "max indices " + w);
                List<Tensor> mk = t.max(dim - 3, true);
                assertShape(mk.get(0), keptDim);
                assertShape(mk.get(1), keptDim);
                assertClose64(mx, mk.get(0), "max values keepDim " + w);
                assertArrayEquals(imx, mk.get(1).toLongArray(), "max indices keepDim " + w);

                List<Tensor> n = t.min(dim, false);
                assertClose64(mn, n.get(0), "min values " + w);
                assertArrayEquals(imn, n.get(1).toLongArray(), "min indices " + w);
                assertShape(t.min(dim, true).get(0), keptDim);

                assertShape(t.amax(dim, false), kept);
                assertClose64(mx, t.amax(dim, false), "amax " + w);
                assertShape(t.amax(dim, true), keptDim);
                assertClose64(mx, t.amax(dim, true), "amax keepDim " + w);

                Tensor am = t.argmax(dim, false);
                assertEquals(DType.INT64, am.dtype());
                assertShape(am, kept);
                assertArrayEquals(imx, am.toLongArray(), "argmax " + w);
                assertShape(t.argmax(dim, true), keptDim);
                assertArrayEquals(imx, t.argmax(dim - 3, true).toLongArray(), "argmax keepDim " + w);
            }
            // ties: the first occurrence wins, as documented for torch.argmax / torch.max(dim)
            Tensor tie = Tensor.of(new double[] {1, 3, 3, 2});
            assertEquals(1, tie.argmax().itemLong());
            assertEquals(1, tie.argmax(0, false).itemLong());
            assertEquals(1, tie.max(0, false).get(1).itemLong());
            assertEquals(0, Tensor.of(new double[] {-1, 2, -1}).min(0, false).get(1).itemLong());
            Tensor ints = Tensor.of(new long[] {3, 9, -2, 9}, 2, 2);
            assertEquals(9, ints.max().itemLong());
            assertEquals(DType.INT64, ints.max().dtype());
            assertEquals(-2, ints.min().itemLong());
        }
    }

    @Test
    void softmaxAndLogSoftmax() {
        try (Scope s = Scope.open()) {
            double[] x = map(Ref.normal(new Random(11), 24), v -> 3 * v);
            Tensor t = Tensor.of(x, S234);
            for (int dim = 0; dim < 3; dim++) {
                double[] sm = Ref.softmax(x, S234, dim, false), lsm = Ref.softmax(x, S234, dim, true);
                assertShape(t.softmax(dim), S234);
                assertClose64(sm, t.softmax(dim), "softmax dim " + dim);
                assertClose64(sm, t.softmax(dim - 3), "softmax dim " + (dim - 3));
                assertClose64(lsm, t.logSoftmax(dim), "logSoftmax dim " + dim);
                assertClose64(lsm, t.logSoftmax(dim - 3), "logSoftmax dim " + (dim - 3));
                Tensor f = Tensor.of(Ref.f32(x), S234);
                assertClose32(Ref.softmax(Ref.roundF32(x), S234, dim, false), f.softmax(dim), "softmax f32 dim " + dim);
                assertClose32(Ref.softmax(Ref.roundF32(x), S234, dim, true), f.logSoftmax(dim), "logSoftmax f32 dim " + dim);
            }
            // large logits do not overflow
            Tensor big = Tensor.of(new double[] {1000, 1001, 1002});
            assertClose64(Ref.softmax(new double[] {0, 1, 2}, new long[] {3}, 0, false), big.softmax(0), "softmax of large logits");
        }
    }

    // =====================================================================================================
    // The escape hatch
    // =====================================================================================================

    @Test
    void atenFlip() {
        try (Scope s = Scope.open()) {
            double[] x = Ref.normal(new Random(12), 6);
            Tensor t = Tensor.of(x, 3, 2);
            Tensor f = Aten.callTensor("aten::flip", "", t, new long[] {0});
            assertShape(f, 3, 2);
            double[] exp = new double[6];
            for (int i = 0; i < 3; i++) for (int j = 0; j < 2; j++) exp[i * 2 + j] = x[(2 - i) * 2 + j];
            assertClose64(exp, f, "flip dim 0");
            Tensor f01 = Aten.callTensor("aten::flip", "", t, new int[] {0, 1});
            double[] exp01 = new double[6];
            for (int i = 0; i < 6; i++) exp01[i] = x[5 - i];
            assertClose64(exp01, f01, "flip dims 0,1");
            // int, Integer and Long arguments
            Tensor tr = Aten.callTensor("aten::transpose", "int", t, 0, 1L);
            assertShape(tr, 2, 3);
        }
    }

    @Test
    void atenSortTwoResults() {
        try (Scope s = Scope.open()) {
            double[] x = Ref.normal(new Random(13), 10);
            Tensor t = Tensor.of(x, 2, 5);
            for (boolean desc : new boolean[] {false, true}) {
                List<Object> res = Aten.call("aten::sort", "", List.of(Aten.Ret.TENSOR, Aten.Ret.TENSOR), t, -1L, desc);
                assertEquals(2, res.size());
                Tensor values = (Tensor) res.get(0), indices = (Tensor) res.get(1);
                assertShape(values, 2, 5);
                assertEquals(DType.INT64, indices.dtype());
                double[] v = values.toDoubleArray();
                long[] ix = indices.toLongArray();
                for (int row = 0; row < 2; row++) {
                    double[] sorted = java.util.Arrays.copyOfRange(x, row * 5, row * 5 + 5);
                    java.util.Arrays.sort(sorted);
                    for (int j = 0; j < 5; j++) {
                        double e = desc ? sorted[4 - j] : sorted[j];
                        assertEquals(e, v[row * 5 + j], "sort value row " + row + " col " + j + " desc " + desc);
                        assertEquals(e, x[row * 5 + (int) ix[row * 5 + j]], "sort index row " + row + " col " + j);
                    }
                }
            }
            // a tensor-list result
            List<Object> parts = Aten.call("aten::unbind", "int", List.of(Aten.Ret.TENSOR_LIST), t, 0L);
            @SuppressWarnings("unchecked") List<Tensor> rows = (List<Tensor>) parts.getFirst();
            assertEquals(2, rows.size());
            assertClose64(java.util.Arrays.copyOfRange(x, 5, 10), rows.get(1), "unbind row 1");
        }
    }

    @Test
    void atenOptionalsAndBadArguments() {
        try (Scope s = Scope.open()) {
            double[] x = Ref.normal(new Random(14), 6);
            Tensor t = Tensor.of(x, 2, 3);
            Tensor rs = Aten.callTensor("aten::sum", "dim_IntList", t, Aten.some(new long[] {1}), false, Aten.NONE);
            assertShape(rs, 2);
            assertClose64(Ref.sumOver(x, S23, 1), rs, "sum.dim_IntList via Aten");
            Tensor cs = Aten.callTensor("aten::sum", "dim_IntList", t, Aten.some(new long[] {0}), true, Aten.some(DType.FLOAT32));
            assertEquals(DType.FLOAT32, cs.dtype());
            assertShape(cs, 1, 3);
            assertClose(Ref.sumOver(x, S23, 0), cs.toDoubleArray(), 1e-6, 1e-6, "sum dim 0 as float32");
            Tensor all = Aten.callTensor("aten::sum", "dim_IntList", t, Aten.NONE, false, Aten.NONE);
            double total = 0;
            for (double v : x) total += v;
            assertEquals(total, all.item(), 1e-12);

            long live = Tensor.liveCount();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Aten.callTensor("aten::flip", "", t, new java.util.Date()));
            assertTrue(e.getMessage().contains("java.util.Date"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Aten.callTensor("aten::flip", "", t, null));
            assertThrows(IllegalArgumentException.class, () -> Aten.some(null));
            assertThrows(IllegalArgumentException.class, () -> Aten.some(Aten.NONE));
            assertThrows(IllegalArgumentException.class, () -> Aten.callTensor("aten::sum", "dim_IntList", t,
                    Aten.some(new java.util.Date()), false, Aten.NONE));
            assertThrows(IllegalArgumentException.class, () -> Aten.callTensor("aten::cat", "", List.of(t, "x"), 0L));
            assertEquals(live, Tensor.liveCount(), "a refused call leaks no tensors");
            assertThrows(TorchException.class, () -> Aten.callTensor("aten::no_such_op", "", t));
            // still usable after the failures
            assertClose64(x, Aten.callTensor("aten::clone", "", t, Aten.NONE), "clone after failures");
        }
    }
}
