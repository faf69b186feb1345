package io.higgs4j.torch;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static io.higgs4j.torch.Ref.assertClose64;
import static io.higgs4j.torch.Ref.assertShape;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Views, shape changes, indexing, masking, joining and splitting, checked with Java index arithmetic. */
class ShapeOpsTest {

    private static final long[] S234 = {2, 3, 4};

    /** Expected values of a tensor of shape outShape whose element at idx is src[at(idx)] (src row-major in srcShape). */
    private static double[] gatherRef(double[] src, long[] srcShape, long[] outShape, Function<int[], int[]> at) {
        double[] out = new double[Ref.numel(outShape)];
        for (int i = 0; i < out.length; i++) out[i] = src[Ref.ravel(at.apply(Ref.unravel(i, outShape)), srcShape)];
        return out;
    }

    private static void check(String what, Tensor t, long[] shape, double[] expected) {
        assertArrayEquals(shape, t.shape(), what + ": shape");
        assertClose64(expected, t, what);
    }

    // =====================================================================================================
    // Views
    // =====================================================================================================

    @Test
    void viewReshapeFlatten() {
        try (Scope s = Scope.open()) {
            double[] x = Ref.normal(new Random(20), 24);
            Tensor t = Tensor.of(x, S234);
            check("view 4,6", t.view(4, 6), new long[] {4, 6}, x);
            check("view -1,4", t.view(-1, 4), new long[] {6, 4}, x);
            check("view 2,-1,2", t.view(2, -1, 2), new long[] {2, 6, 2}, x);
            check("reshape -1", t.reshape(-1), new long[] {24}, x);
            check("reshape 3,-1", t.reshape(3, -1), new long[] {3, 8}, x);
            check("flatten", t.flatten(), new long[] {24}, x);

            // a view writes through
            Tensor v = t.clone().view(6, 4);
            Tensor base = v.view(2, 3, 4);
            v.select(0, 0).fill_(0);
            assertEquals(0.0, base.toDoubleArray()[3]);

            // reshape of a non-contiguous tensor copies into row-major order of the transposed view; view refuses
            Tensor tr = t.transpose(0, 2); // [4, 3, 2]
            double[] trVals = gatherRef(x, S234, new long[] {4, 3, 2}, i -> new int[] {i[2], i[1], i[0]});
            check("reshape of transpose", tr.reshape(-1), new long[] {24}, trVals);
            check("flatten of transpose", tr.flatten(), new long[] {24}, trVals);
            assertThrows(TorchException.class, () -> tr.view(-1));

            assertThrows(TorchException.class, () -> t.view(5, 5));
            assertThrows(TorchException.class, () -> t.reshape(-1, -1));
            assertThrows(TorchException.class, () -> t.reshape(7, -1));
            check("reshape to scalar", Tensor.of(new double[] {4.5}, 1, 1).reshape(), new long[0], new double[] {4.5});
            check("empty reshape", Tensor.zeros(new long[] {0, 3}, DType.FLOAT64, Device.CPU).reshape(-1, 6), new long[] {0, 6}, new double[0]);
        }
    }

    @Test
    void transposePermuteMT() {
        try (Scope s = Scope.open()) {
            double[] x = Ref.normal(new Random(21), 24);
            Tensor t = Tensor.of(x, S234);
            check("transpose 0,2", t.transpose(0, 2), new long[] {4, 3, 2},
                    gatherRef(x, S234, new long[] {4, 3, 2}, i -> new int[] {i[2], i[1], i[0]}));
            check("transpose -1,-2", t.transpose(-1, -2), new long[] {2, 4, 3},
                    gatherRef(x, S234, new long[] {2, 4, 3}, i -> new int[] {i[0], i[2], i[1]}));
            check("transpose 1,1", t.transpose(1, 1), S234, x);
            check("mT", t.mT(), new long[] {2, 4, 3},
                    gatherRef(x, S234, new long[] {2, 4, 3}, i -> new int[] {i[0], i[2], i[1]}));
            double[] m = Ref.normal(new Random(22), 6);
            check("mT 2-d", Tensor.of(m, 2, 3).mT(), new long[] {3, 2},
                    gatherRef(m, new long[] {2, 3}, new long[] {3, 2}, i -> new int[] {i[1], i[0]}));
            // permute(2, 0, 1): out[k][i][j] = x[i][j][k]
            check("permute 2,0,1", t.permute(2, 0, 1), new long[] {4, 2, 3},
                    gatherRef(x, S234, new long[] {4, 2, 3}, i -> new int[] {i[1], i[2], i[0]}));
            // permute(1, 2, 0): out[j][k][i] = x[i][j][k]
            check("permute 1,2,0", t.permute(1, 2, 0), new long[] {3, 4, 2},
                    gatherRef(x, S234, new long[] {3, 4, 2}, i -> new int[] {i[2], i[0], i[1]}));
            check("permute -1,0,1", t.permute(-1, 0, 1), new long[] {4, 2, 3},
                    gatherRef(x, S234, new long[] {4, 2, 3}, i -> new int[] {i[1], i[2], i[0]}));
            assertThrows(TorchException.class, () -> t.permute(1, 0));
            assertThrows(TorchException.class, () -> t.transpose(0, 3));
        }
    }

    @Test
    void sliceNarrowSelect() {
        try (Scope s = Scope.open()) {
            double[] x = Ref.normal(new Random(23), 24);
            Tensor t = Tensor.of(x, S234);
            check("slice 2:1:4", t.slice(2, 1, 4), new long[] {2, 3, 3},
                    gatherRef(x, S234, new long[] {2, 3, 3}, i -> new int[] {i[0], i[1], i[2] + 1}));
            check("slice step 2", t.slice(2, 1, 4, 2), new long[] {2, 3, 2},
                    gatherRef(x, S234, new long[] {2, 3, 2}, i -> new int[] {i[0], i[1], 1 + 2 * i[2]}));
            check("slice step 3", t.slice(-1, 0, 4, 3), new long[] {2, 3, 2},
                    gatherRef(x, S234, new long[] {2, 3, 2}, i -> new int[] {i[0], i[1], 3 * i[2]}));
            check("slice negative start", t.slice(1, -2, 3), new long[] {2, 2, 4},
                    gatherRef(x, S234, new long[] {2, 2, 4}, i -> new int[] {i[0], i[1] + 1, i[2]}));
            check("slice negative end", t.slice(2, 0, -1), new long[] {2, 3, 3},
                    gatherRef(x, S234, new long[] {2, 3, 3}, i -> i));
            check("slice clamped end", t.slice(2, -3, 100), new long[] {2, 3, 3},
                    gatherRef(x, S234, new long[] {2, 3, 3}, i -> new int[] {i[0], i[1], i[2] + 1}));
            check("slice Long.MAX_VALUE end", t.slice(0, 1, Long.MAX_VALUE), new long[] {1, 3, 4},
                    gatherRef(x, S234, new long[] {1, 3, 4}, i -> new int[] {1, i[1], i[2]}));
            assertShape(t.slice(2, 3, 1), 2, 3, 0);
            assertThrows(TorchException.class, () -> t.slice(2, 0, 4, 0));
            assertThrows(TorchException.class, () -> t.slice(2, 0, 4, -1));

            check("narrow", t.narrow(2, 1, 2), new long[] {2, 3, 2},
                    gatherRef(x, S234, new long[] {2, 3, 2}, i -> new int[] {i[0], i[1], i[2] + 1}));
            check("narrow negative start", t.narrow(-2, -2, 2), new long[] {2, 2, 4},
                    gatherRef(x, S234, new long[] {2, 2, 4}, i -> new int[] {i[0], i[1] + 1, i[2]}));
            assertThrows(TorchException.class, () -> t.narrow(2, 3, 2));

            check("select 1,2", t.select(1, 2), new long[] {2, 4},
                    gatherRef(x, S234, new long[] {2, 4}, i -> new int[] {i[0], 2, i[1]}));
            check("select -1,-1", t.select(-1, -1), new long[] {2, 3},
                    gatherRef(x, S234, new long[] {2, 3}, i -> new int[] {i[0], i[1], 3}));
            check("select 0,1", t.select(0, 1), new long[] {3, 4},
                    gatherRef(x, S234, new long[] {3, 4}, i -> new int[] {1, i[0], i[1]}));
            check("select to scalar", Tensor.of(new double[] {5, 6}).select(0, 1), new long[0], new double[] {6});
            assertThrows(TorchException.class, () -> t.select(1, 3));
            assertThrows(TorchException.class, () -> t.select(1, -4));

            // a slice of a slice, and a view of a non-contiguous view
            check("slice of slice", t.slice(2, 1, 4).slice(2, 1, 3), new long[] {2, 3, 2},
                    gatherRef(x, S234, new long[] {2, 3, 2}, i -> new int[] {i[0], i[1], i[2] + 2}));
            Tensor sl = t.slice(1, 0, 3, 2);
            assertFalse(sl.isContiguous());
            check("select of strided slice", sl.select(2, 1), new long[] {2, 2},
                    gatherRef(x, S234, new long[] {2, 2}, i -> new int[] {i[0], 2 * i[1], 1}));
        }
    }

    @Test
    void unsqueezeSqueeze() {
        try (Scope s = Scope.open()) {
            double[] x = Ref.normal(new Random(24), 24);
            Tensor t = Tensor.of(x, S234);
            check("unsqueeze 0", t.unsqueeze(0), new long[] {1, 2, 3, 4}, x);
            check("unsqueeze 3", t.unsqueeze(3), new long[] {2, 3, 4, 1}, x);
            check("unsqueeze -1", t.unsqueeze(-1), new long[] {2, 3, 4, 1}, x);
            check("unsqueeze -2", t.unsqueeze(-2), new long[] {2, 3, 1, 4}, x);
            check("unsqueeze -4", t.unsqueeze(-4), new long[] {1, 2, 3, 4}, x);
            check("unsqueeze 1", t.unsqueeze(1), new long[] {2, 1, 3, 4}, x);
            assertThrows(TorchException.class, () -> t.unsqueeze(4));
            assertThrows(TorchException.class, () -> t.unsqueeze(-5));
            check("unsqueeze of scalar", Tensor.copyOf(java.lang.foreign.MemorySegment.ofArray(new double[] {3}), DType.FLOAT64)
                    .unsqueeze(0), new long[] {1}, new double[] {3});
            assertArrayEquals(new long[] {1}, Tensor.of(new double[] {3}).shape(), "one value without a shape is 1-d, as in torch");
            assertArrayEquals(new long[0], Tensor.scalar(3).shape());

            double[] y = Ref.normal(new Random(25), 6);
            Tensor u = Tensor.of(y, 1, 3, 1, 2);
            check("squeeze", u.squeeze(), new long[] {3, 2}, y);
            check("squeeze 0", u.squeeze(0), new long[] {3, 1, 2}, y);
            check("squeeze 2", u.squeeze(2), new long[] {1, 3, 2}, y);
            check("squeeze -2", u.squeeze(-2), new long[] {1, 3, 2}, y);
            check("squeeze non-1 dim", u.squeeze(1), new long[] {1, 3, 1, 2}, y);
            check("squeeze all ones", Tensor.of(new double[] {7}, 1, 1).squeeze(), new long[0], new double[] {7});
        }
    }

    @Test
    void expandAndContiguous() {
        try (Scope s = Scope.open()) {
            double[] c = {1.5, -2, 3};
            Tensor col = Tensor.of(c, 3, 1);
            Tensor e = col.expand(2, 3, 4);
            assertShape(e, 2, 3, 4);
            assertEquals(0, e.strides()[0]);
            assertEquals(0, e.strides()[2]);
            assertFalse(e.isContiguous());
            check("expand", e, S234, gatherRef(c, new long[] {3, 1}, S234, i -> new int[] {i[1], 0}));
            check("expand -1", col.expand(-1, 5), new long[] {3, 5}, gatherRef(c, new long[] {3, 1}, new long[] {3, 5}, i -> new int[] {i[0], 0}));
            check("expand same", col.expand(3, 1), new long[] {3, 1}, c);
            check("expand 1-d", Tensor.of(c).expand(2, 3), new long[] {2, 3}, new double[] {1.5, -2, 3, 1.5, -2, 3});
            assertThrows(TorchException.class, () -> col.expand(2, 4));
            assertThrows(TorchException.class, () -> col.expand(5));

            Tensor ec = e.contiguous();
            assertTrue(ec.isContiguous());
            assertArrayEquals(new long[] {12, 4, 1}, ec.strides());
            check("contiguous of expand", ec, S234, gatherRef(c, new long[] {3, 1}, S234, i -> new int[] {i[1], 0}));

            double[] x = Ref.normal(new Random(26), 24);
            Tensor p = Tensor.of(x, S234).permute(2, 0, 1).contiguous();
            assertTrue(p.isContiguous());
            assertArrayEquals(new long[] {6, 3, 1}, p.strides());
            check("contiguous of permute", p, new long[] {4, 2, 3},
                    gatherRef(x, S234, new long[] {4, 2, 3}, i -> new int[] {i[1], i[2], i[0]}));
            // contiguous copies: writes to it do not reach the permuted source
            Tensor src = Tensor.of(x, S234);
            src.mT().contiguous().fill_(0);
            assertClose64(x, src, "source after writing to a contiguous copy");
        }
    }

    // =====================================================================================================
    // Indexing and masking
    // =====================================================================================================

    @Test
    void indexSelectAndGather() {
        try (Scope s = Scope.open()) {
            double[] x = Ref.normal(new Random(27), 12);
            long[] sh = {3, 4};
            Tensor t = Tensor.of(x, sh);
            long[] idx = {2, 0, 2};
            check("index_select dim 0", t.indexSelect(0, Tensor.of(idx)), new long[] {3, 4},
                    gatherRef(x, sh, new long[] {3, 4}, i -> new int[] {(int) idx[i[0]], i[1]}));
            int[] idx32 = {3, 1};
            check("index_select dim 1 int32", t.indexSelect(1, Tensor.of(idx32)), new long[] {3, 2},
                    gatherRef(x, sh, new long[] {3, 2}, i -> new int[] {i[0], idx32[i[1]]}));
            check("index_select dim -1", t.indexSelect(-1, Tensor.of(idx32)), new long[] {3, 2},
                    gatherRef(x, sh, new long[] {3, 2}, i -> new int[] {i[0], idx32[i[1]]}));
            assertThrows(TorchException.class, () -> t.indexSelect(0, Tensor.of(new float[] {0, 1})));
            assertThrows(TorchException.class, () -> t.indexSelect(0, Tensor.of(new long[] {0, 3})));

            // gather dim 1: out[i][j] = x[i][g[i][j]]
            long[] g = {3, 0, 0, 1, 1, 1, 2, 3, 0};
            check("gather dim 1", t.gather(1, Tensor.of(g, 3, 3)), new long[] {3, 3},
                    gatherRef(x, sh, new long[] {3, 3}, i -> new int[] {i[0], (int) g[i[0] * 3 + i[1]]}));
            // gather dim 0: out[i][j] = x[g0[i][j]][j]
            long[] g0 = {2, 1, 0, 0, 0, 0, 2, 1};
            check("gather dim 0", t.gather(0, Tensor.of(g0, 2, 4)), new long[] {2, 4},
                    gatherRef(x, sh, new long[] {2, 4}, i -> new int[] {(int) g0[i[0] * 4 + i[1]], i[1]}));
            int[] g32 = {1, 2, 3};
            check("gather int32 dim -1", t.gather(-1, Tensor.of(g32, 3, 1)), new long[] {3, 1},
                    gatherRef(x, sh, new long[] {3, 1}, i -> new int[] {i[0], g32[i[0]]}));
            assertThrows(TorchException.class, () -> t.gather(1, Tensor.of(g)));
        }
    }

    @Test
    void maskedFillAndWhere() {
        try (Scope s = Scope.open()) {
            double[] x = Ref.normal(new Random(28), 6);
            long[] sh = {2, 3};
            Tensor t = Tensor.of(x, sh);
            boolean[] m = {true, false, true, false, false, true};
            double[] exp = new double[6];
            for (int i = 0; i < 6; i++) exp[i] = m[i] ? -1.5 : x[i];
            check("masked_fill", t.maskedFill(Tensor.of(m, sh), -1.5), sh, exp);
            boolean[] row = {false, true, false};
            for (int i = 0; i < 6; i++) exp[i] = row[i % 3] ? Double.NEGATIVE_INFINITY : x[i];
            check("masked_fill broadcast mask", t.maskedFill(Tensor.of(row), Double.NEGATIVE_INFINITY), sh, exp);
            Tensor li = Tensor.of(new long[] {1, 2, 3, 4, 5, 6}, sh).maskedFill(Tensor.of(m, sh), 9);
            assertEquals(DType.INT64, li.dtype());
            assertArrayEquals(new long[] {9, 2, 9, 4, 5, 9}, li.toLongArray());
            assertThrows(TorchException.class, () -> t.maskedFill(Tensor.of(new float[] {1, 0, 1}), 0));
            assertThrows(TorchException.class, () -> t.maskedFill(Tensor.of(new boolean[] {true, false}), 0));

            double[] a = Ref.normal(new Random(29), 6), b = Ref.normal(new Random(30), 3);
            for (int i = 0; i < 6; i++) exp[i] = m[i] ? a[i] : b[i % 3];
            check("where", Tensor.where(Tensor.of(m, sh), Tensor.of(a, sh), Tensor.of(b)), sh, exp);
            // condition broadcasts too: [2,1] condition, [1,3] a, [2,3] b
            boolean[] c = {true, false};
            double[] a13 = {10, 20, 30};
            for (int i = 0; i < 6; i++) exp[i] = c[i / 3] ? a13[i % 3] : x[i];
            check("where broadcast", Tensor.where(Tensor.of(c, 2, 1), Tensor.of(a13, 1, 3), t), sh, exp);
            assertThrows(TorchException.class, () -> Tensor.where(t, t, t));
        }
    }

    @Test
    void triuTril() {
        try (Scope s = Scope.open()) {
            double[] x = Ref.normal(new Random(31), 12);
            long[] sh = {3, 4};
            Tensor t = Tensor.of(x, sh);
            for (long d = -3; d <= 4; d++) {
                double[] up = new double[12], lo = new double[12];
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 4; j++) {
                        up[i * 4 + j] = j - i >= d ? x[i * 4 + j] : 0;
                        lo[i * 4 + j] = j - i <= d ? x[i * 4 + j] : 0;
                    }
                check("triu " + d, t.triu(d), sh, up);
                check("tril " + d, t.tril(d), sh, lo);
            }
            // batched: applied to the last two dims of each matrix
            double[] b = Ref.normal(new Random(32), 18);
            long[] bs = {2, 3, 3};
            double[] exp = new double[18];
            for (int i = 0; i < 18; i++) {
                int[] ix = Ref.unravel(i, bs);
                exp[i] = ix[2] - ix[1] <= -1 ? b[i] : 0;
            }
            check("tril -1 batched", Tensor.of(b, bs).tril(-1), bs, exp);
            assertThrows(TorchException.class, () -> Tensor.of(new double[] {1, 2}).triu(0));
        }
    }

    // =====================================================================================================
    // Joining and splitting
    // =====================================================================================================

    @Test
    void catAndStack() {
        try (Scope s = Scope.open()) {
            Random r = new Random(33);
            double[] a = Ref.normal(r, 6), b = Ref.normal(r, 3), c = Ref.normal(r, 4);
            Tensor ta = Tensor.of(a, 2, 3), tb = Tensor.of(b, 1, 3), tc = Tensor.of(c, 2, 2);

            double[] e0 = new double[9];
            System.arraycopy(a, 0, e0, 0, 6);
            System.arraycopy(b, 0, e0, 6, 3);
            check("cat dim 0", Tensor.cat(List.of(ta, tb), 0), new long[] {3, 3}, e0);
            double[] e0b = new double[9];
            System.arraycopy(b, 0, e0b, 0, 3);
            System.arraycopy(a, 0, e0b, 3, 6);
            check("cat dim 0 reversed", Tensor.cat(List.of(tb, ta), 0), new long[] {3, 3}, e0b);

            double[] e1 = new double[10];
            for (int i = 0; i < 2; i++) {
                System.arraycopy(a, i * 3, e1, i * 5, 3);
                System.arraycopy(c, i * 2, e1, i * 5 + 3, 2);
            }
            check("cat dim 1", Tensor.cat(List.of(ta, tc), 1), new long[] {2, 5}, e1);
            check("cat dim -1", Tensor.cat(List.of(ta, tc), -1), new long[] {2, 5}, e1);
            double[] e3 = new double[18];
            for (int i = 0; i < 3; i++) System.arraycopy(a, 0, e3, i * 6, 6);
            check("cat three", Tensor.cat(List.of(ta, ta, ta), -2), new long[] {6, 3}, e3);
            check("cat one", Tensor.cat(List.of(ta), 0), new long[] {2, 3}, a);
            // non-contiguous inputs
            double[] at = new double[6];
            for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) at[j * 2 + i] = a[i * 3 + j];
            double[] et = new double[12];
            System.arraycopy(at, 0, et, 0, 6);
            System.arraycopy(at, 0, et, 6, 6);
            check("cat of transposes", Tensor.cat(List.of(ta.mT(), ta.mT()), 0), new long[] {6, 2}, et);
            assertThrows(TorchException.class, () -> Tensor.cat(List.of(ta, tc), 0));
            assertThrows(TorchException.class, () -> Tensor.cat(List.of(), 0));

            double[] d = Ref.normal(r, 6);
            Tensor td = Tensor.of(d, 2, 3);
            double[] s0 = new double[12];
            System.arraycopy(a, 0, s0, 0, 6);
            System.arraycopy(d, 0, s0, 6, 6);
            check("stack dim 0", Tensor.stack(List.of(ta, td), 0), new long[] {2, 2, 3}, s0);
            double[] s1 = new double[12]; // [2, 2, 3]: out[i][k][j]
            for (int i = 0; i < 2; i++) {
                System.arraycopy(a, i * 3, s1, i * 6, 3);
                System.arraycopy(d, i * 3, s1, i * 6 + 3, 3);
            }
            check("stack dim 1", Tensor.stack(List.of(ta, td), 1), new long[] {2, 2, 3}, s1);
            double[] s2 = new double[12]; // [2, 3, 2]: out[i][j][k]
            for (int i = 0; i < 6; i++) {
                s2[i * 2] = a[i];
                s2[i * 2 + 1] = d[i];
            }
            check("stack dim -1", Tensor.stack(List.of(ta, td), -1), new long[] {2, 3, 2}, s2);
            check("stack dim 2", Tensor.stack(List.of(ta, td), 2), new long[] {2, 3, 2}, s2);
            assertThrows(TorchException.class, () -> Tensor.stack(List.of(ta, tb), 0));
            assertThrows(TorchException.class, () -> Tensor.stack(List.of(ta, td), 3));
        }
    }

    @Test
    void splitAndChunk() {
        try (Scope s = Scope.open()) {
            double[] x = Ref.normal(new Random(34), 10);
            long[] sh = {2, 5};
            Tensor t = Tensor.of(x, sh);

            List<Tensor> p = t.split(2, 1);
            assertEquals(3, p.size());
            checkCols("split 2", p, x, new int[] {0, 2, 4, 5});
            List<Tensor> p5 = t.split(5, 1);
            assertEquals(1, p5.size());
            checkCols("split 5", p5, x, new int[] {0, 5});
            List<Tensor> q = t.split(new long[] {1, 3, 1}, 1);
            checkCols("split sizes", q, x, new int[] {0, 1, 4, 5});
            List<Tensor> qn = t.split(new long[] {4, 0, 1}, -1);
            checkCols("split sizes with 0", qn, x, new int[] {0, 4, 4, 5});
            List<Tensor> r = t.split(1, 0);
            assertEquals(2, r.size());
            check("split rows 0", r.get(0), new long[] {1, 5}, java.util.Arrays.copyOfRange(x, 0, 5));
            check("split rows 1", r.get(1), new long[] {1, 5}, java.util.Arrays.copyOfRange(x, 5, 10));
            assertThrows(TorchException.class, () -> t.split(new long[] {2, 2}, 1));
            assertThrows(TorchException.class, () -> t.split(0, 1));

            List<Tensor> c = t.chunk(3, 1); // ceil(5 / 3) = 2: sizes 2, 2, 1
            checkCols("chunk 3", c, x, new int[] {0, 2, 4, 5});
            List<Tensor> c5 = t.chunk(5, -1);
            checkCols("chunk 5", c5, x, new int[] {0, 1, 2, 3, 4, 5});
            List<Tensor> c2 = t.chunk(2, 0);
            assertEquals(2, c2.size());
            check("chunk rows 1", c2.get(1), new long[] {1, 5}, java.util.Arrays.copyOfRange(x, 5, 10));
            List<Tensor> c4 = Tensor.of(java.util.Arrays.copyOf(x, 6)).chunk(4, 0); // ceil(6 / 4) = 2: three chunks
            assertEquals(3, c4.size());
            check("chunk 4 of 6 last", c4.get(2), new long[] {2}, java.util.Arrays.copyOfRange(x, 4, 6));
            assertThrows(TorchException.class, () -> t.chunk(0, 1));

            // pieces are views of the input
            Tensor base = t.clone();
            base.split(2, 1).get(1).fill_(0);
            assertEquals(0.0, base.toDoubleArray()[2]);
            assertEquals(0.0, base.toDoubleArray()[8]);
            assertEquals(x[4], base.toDoubleArray()[4]);
        }
    }

    /** Pieces of x [2, 5] split along dim 1 at the given column bounds. */
    private static void checkCols(String what, List<Tensor> pieces, double[] x, int[] bounds) {
        assertEquals(bounds.length - 1, pieces.size(), what + ": number of pieces");
        for (int k = 0; k < pieces.size(); k++) {
            int lo = bounds[k], w = bounds[k + 1] - lo;
            double[] exp = new double[2 * w];
            for (int i = 0; i < 2; i++) System.arraycopy(x, i * 5 + lo, exp, i * w, w);
            check(what + " piece " + k, pieces.get(k), new long[] {2, w}, exp);
        }
    }
}
