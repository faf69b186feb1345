package io.higgs4j.torch;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static io.higgs4j.torch.Ref.assertClose;
import static io.higgs4j.torch.Ref.assertClose32;
import static io.higgs4j.torch.Ref.assertClose64;
import static io.higgs4j.torch.Ref.assertShape;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Embedding, cross-entropy, attention, dropout and normalisation against Java reference implementations. */
class NnOpsTest {

    // =====================================================================================================
    // Embedding
    // =====================================================================================================

    @Test
    void embedding() {
        try (Scope s = Scope.open()) {
            double[] w = Ref.normal(new Random(40), 15); // [5, 3]
            Tensor tw = Tensor.of(w, 5, 3);
            long[] idx = {4, 0, 2, 4};
            double[] exp = new double[12];
            for (int i = 0; i < 4; i++) System.arraycopy(w, (int) idx[i] * 3, exp, i * 3, 3);
            Tensor e = Tensor.embedding(tw, Tensor.of(idx, 2, 2));
            assertShape(e, 2, 2, 3);
            assertClose64(exp, e, "embedding int64");
            Tensor e32 = Tensor.embedding(tw, Tensor.of(new int[] {4, 0, 2, 4}));
            assertShape(e32, 4, 3);
            assertClose64(exp, e32, "embedding int32");
            Tensor ef = Tensor.embedding(Tensor.of(Ref.f32(w), 5, 3), Tensor.of(new long[] {1}, 1));
            assertShape(ef, 1, 3);
            assertClose32(Ref.roundF32(java.util.Arrays.copyOfRange(w, 3, 6)), ef, "embedding f32");
            assertThrows(TorchException.class, () -> Tensor.embedding(tw, Tensor.of(new float[] {1, 2})));
            assertThrows(TorchException.class, () -> Tensor.embedding(Tensor.of(w), Tensor.of(idx)));
            assertThrows(TorchException.class, () -> Tensor.embedding(tw, Tensor.of(new long[] {5, 0})));
        }
    }

    // =====================================================================================================
    // Cross-entropy
    // =====================================================================================================

    /** Per-target losses of logits [N, C] (row-major); ignored targets get NaN. */
    private static double[] ceRef(double[] logits, int n, int c, long[] target, long ignore, double eps) {
        double[] lsm = Ref.softmax(logits, new long[] {n, c}, 1, true);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            if (target[i] == ignore) {
                out[i] = Double.NaN;
                continue;
            }
            double nll = -lsm[i * c + (int) target[i]];
            double smooth = 0;
            for (int k = 0; k < c; k++) smooth -= lsm[i * c + k];
            out[i] = (1 - eps) * nll + eps * smooth / c;
        }
        return out;
    }

    private static double[] noneReduction(double[] perTarget) {
        double[] out = perTarget.clone();
        for (int i = 0; i < out.length; i++) if (Double.isNaN(out[i])) out[i] = 0;
        return out;
    }

    private static double sumReduction(double[] perTarget) {
        double s = 0;
        for (double v : perTarget) if (!Double.isNaN(v)) s += v;
        return s;
    }

    private static double meanReduction(double[] perTarget) {
        int k = 0;
        for (double v : perTarget) if (!Double.isNaN(v)) k++;
        return sumReduction(perTarget) / k;
    }

    @Test
    void crossEntropy() {
        try (Scope s = Scope.open()) {
            int n = 5, c = 4;
            double[] x = Ref.normal(new Random(41), n * c);
            long[] target = {1, -100, 3, 0, 3};
            Tensor logits = Tensor.of(x, n, c), t = Tensor.of(target);
            double[] per = ceRef(x, n, c, target, -100, 0);

            Tensor mean = logits.crossEntropy(t, -100);
            assertShape(mean);
            assertEquals(meanReduction(per), mean.item(), 1e-12, "mean over non-ignored targets");
            assertEquals(meanReduction(per), logits.crossEntropy(t, -100, Tensor.Reduction.MEAN, 0).item(), 1e-12);
            Tensor none = logits.crossEntropy(t, -100, Tensor.Reduction.NONE, 0);
            assertShape(none, n);
            assertClose64(noneReduction(per), none, "reduction none");
            assertEquals(sumReduction(per), logits.crossEntropy(t, -100, Tensor.Reduction.SUM, 0).item(), 1e-12, "reduction sum");

            // another ignore index: -100 is then a real (invalid) class, so use a valid one
            long[] t2 = {1, 2, 3, 0, 2};
            double[] per2 = ceRef(x, n, c, t2, 2, 0);
            assertEquals(meanReduction(per2), logits.crossEntropy(Tensor.of(t2), 2).item(), 1e-12, "ignore_index 2");

            // label smoothing 0.1: (1 - eps) * nll + eps * mean over classes of -log p, averaged over non-ignored
            double[] perLs = ceRef(x, n, c, target, -100, 0.1);
            assertEquals(meanReduction(perLs), logits.crossEntropy(t, -100, Tensor.Reduction.MEAN, 0.1).item(), 1e-12,
                    "label smoothing mean");
            assertEquals(sumReduction(perLs), logits.crossEntropy(t, -100, Tensor.Reduction.SUM, 0.1).item(), 1e-12,
                    "label smoothing sum");
            assertClose64(noneReduction(perLs), logits.crossEntropy(t, -100, Tensor.Reduction.NONE, 0.1), "label smoothing none");
            long[] all = {1, 0, 3, 0, 2};
            assertEquals(meanReduction(ceRef(x, n, c, all, -100, 0.1)),
                    logits.crossEntropy(Tensor.of(all), -100, Tensor.Reduction.MEAN, 0.1).item(), 1e-12, "label smoothing, none ignored");

            // float32
            Tensor lf = Tensor.of(Ref.f32(x), n, c);
            double ref32 = meanReduction(ceRef(Ref.roundF32(x), n, c, target, -100, 0));
            Tensor m32 = lf.crossEntropy(t, -100);
            assertEquals(DType.FLOAT32, m32.dtype());
            assertEquals(ref32, m32.item(), 1e-5 * Math.abs(ref32));

            assertThrows(TorchException.class, () -> logits.crossEntropy(Tensor.of(new int[] {1, 0, 3, 0, 3}), -100));
            assertThrows(TorchException.class, () -> logits.crossEntropy(Tensor.of(new long[] {1, 0, 3}), -100));
        }
    }

    @Test
    void crossEntropyWithSpatialDims() {
        try (Scope s = Scope.open()) {
            // logits [N=2, C=3, d=4], targets [2, 4]: the class dimension is 1
            int n = 2, c = 3, d = 4;
            double[] x = Ref.normal(new Random(42), n * c * d);
            long[] target = {0, 2, 1, -100, 2, 2, 0, 1};
            double[] flat = new double[n * d * c]; // [N*d, C]
            long[] ft = new long[n * d];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < d; j++) {
                    for (int k = 0; k < c; k++) flat[(i * d + j) * c + k] = x[(i * c + k) * d + j];
                    ft[i * d + j] = target[i * d + j];
                }
            double[] per = ceRef(flat, n * d, c, ft, -100, 0);
            Tensor logits = Tensor.of(x, n, c, d), t = Tensor.of(target, n, d);
            assertEquals(meanReduction(per), logits.crossEntropy(t, -100).item(), 1e-12, "spatial mean");
            Tensor none = logits.crossEntropy(t, -100, Tensor.Reduction.NONE, 0);
            assertShape(none, n, d);
            assertClose64(noneReduction(per), none, "spatial none");
            double[] perLs = ceRef(flat, n * d, c, ft, -100, 0.1);
            assertEquals(meanReduction(perLs), logits.crossEntropy(t, -100, Tensor.Reduction.MEAN, 0.1).item(), 1e-12,
                    "spatial label smoothing");
            assertThrows(TorchException.class, () -> logits.crossEntropy(Tensor.of(target, d, n), -100));
        }
    }

    // =====================================================================================================
    // Scaled dot-product attention
    // =====================================================================================================

    /**
     * softmax(Q K^T * scale + mask) V for q [B, Hq, L, E], k [B, Hkv, S, E], v [B, Hkv, S, Ev]; query head h uses
     * kv head h / (Hq / Hkv). addMask [L, S] is added; boolMask [L, S] keeps where true; causal keeps j <= i.
     */
    private static double[] attention(double[] q, double[] k, double[] v, int b, int hq, int hkv, int l, int sLen, int e,
                                      int ev, double scale, double[] addMask, boolean[] boolMask, boolean causal) {
        double[] out = new double[b * hq * l * ev];
        int group = hq / hkv;
        for (int bi = 0; bi < b; bi++)
            for (int h = 0; h < hq; h++) {
                int kh = h / group;
                for (int i = 0; i < l; i++) {
                    double[] sc = new double[sLen];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < sLen; j++) {
                        double dot = 0;
                        for (int t = 0; t < e; t++) {
                            dot += q[((bi * hq + h) * l + i) * e + t] * k[((bi * hkv + kh) * sLen + j) * e + t];
                        }
                        sc[j] = dot * scale;
                        if (addMask != null) sc[j] += addMask[i * sLen + j];
                        if (boolMask != null && !boolMask[i * sLen + j]) sc[j] = Double.NEGATIVE_INFINITY;
                        if (causal && j > i) sc[j] = Double.NEGATIVE_INFINITY;
                        max = Math.max(max, sc[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < sLen; j++) {
                        sc[j] = Math.exp(sc[j] - max);
                        sum += sc[j];
                    }
                    for (int t = 0; t < ev; t++) {
                        double acc = 0;
                        for (int j = 0; j < sLen; j++) acc += sc[j] / sum * v[((bi * hkv + kh) * sLen + j) * ev + t];
                        out[((bi * hq + h) * l + i) * ev + t] = acc;
                    }
                }
            }
        return out;
    }

    @Test
    void sdpaCausalAndDefaultScale() {
        try (Scope s = Scope.open()) {
            Random r = new Random(43);
            int b = 2, h = 2, l = 5, e = 8;
            double[] q = Ref.normal(r, b * h * l * e), k = Ref.normal(r, b * h * l * e), v = Ref.normal(r, b * h * l * e);
            Tensor tq = Tensor.of(q, b, h, l, e), tk = Tensor.of(k, b, h, l, e), tv = Tensor.of(v, b, h, l, e);
            double scale = 1 / Math.sqrt(e);

            Tensor causal = Tensor.scaledDotProductAttention(tq, tk, tv, null, 0, true, null);
            assertShape(causal, b, h, l, e);
            assertClose64(attention(q, k, v, b, h, h, l, l, e, e, scale, null, null, true), causal, "sdpa causal");
            Tensor plain = Tensor.scaledDotProductAttention(tq, tk, tv, null, 0, false, null);
            assertClose64(attention(q, k, v, b, h, h, l, l, e, e, scale, null, null, false), plain, "sdpa no mask");
            Tensor scaled = Tensor.scaledDotProductAttention(tq, tk, tv, null, 0, false, 0.3);
            assertClose64(attention(q, k, v, b, h, h, l, l, e, e, 0.3, null, null, false), scaled, "sdpa scale 0.3");
            Tensor scaledCausal = Tensor.scaledDotProductAttention(tq, tk, tv, null, 0, true, 0.7);
            assertClose64(attention(q, k, v, b, h, h, l, l, e, e, 0.7, null, null, true), scaledCausal, "sdpa causal scale 0.7");

            // float32
            Tensor f = Tensor.scaledDotProductAttention(Tensor.of(Ref.f32(q), b, h, l, e), Tensor.of(Ref.f32(k), b, h, l, e),
                    Tensor.of(Ref.f32(v), b, h, l, e), null, 0, true, null);
            assertEquals(DType.FLOAT32, f.dtype());
            assertClose(attention(Ref.roundF32(q), Ref.roundF32(k), Ref.roundF32(v), b, h, h, l, l, e, e, scale, null, null, true),
                    f.toDoubleArray(), 1e-4, 1e-5, "sdpa causal f32");
        }
    }

    @Test
    void sdpaMasks() {
        try (Scope s = Scope.open()) {
            Random r = new Random(44);
            int b = 1, h = 2, l = 3, sl = 5, e = 4, ev = 6;
            double[] q = Ref.normal(r, b * h * l * e), k = Ref.normal(r, b * h * sl * e), v = Ref.normal(r, b * h * sl * ev);
            Tensor tq = Tensor.of(q, b, h, l, e), tk = Tensor.of(k, b, h, sl, e), tv = Tensor.of(v, b, h, sl, ev);
            double scale = 0.5; // 1 / sqrt(4)

            Tensor noMask = Tensor.scaledDotProductAttention(tq, tk, tv, null, 0, false, null);
            assertShape(noMask, b, h, l, ev);
            assertClose64(attention(q, k, v, b, h, h, l, sl, e, ev, scale, null, null, false), noMask, "sdpa L != S");

            double[] add = Ref.normal(r, l * sl);
            add[1] = Double.NEGATIVE_INFINITY;
            Tensor withAdd = Tensor.scaledDotProductAttention(tq, tk, tv, Tensor.of(add, l, sl), 0, false, null);
            assertClose64(attention(q, k, v, b, h, h, l, sl, e, ev, scale, add, null, false), withAdd, "sdpa additive mask");
            Tensor withAddScale = Tensor.scaledDotProductAttention(tq, tk, tv, Tensor.of(add, l, sl), 0, false, 1.25);
            assertClose64(attention(q, k, v, b, h, h, l, sl, e, ev, 1.25, add, null, false), withAddScale, "sdpa additive mask scale");

            boolean[] keep = {
                    true, false, true, true, false,
                    false, false, false, false, true,
                    true, true, true, true, true};
            Tensor withBool = Tensor.scaledDotProductAttention(tq, tk, tv, Tensor.of(keep, l, sl), 0, false, null);
            assertClose64(attention(q, k, v, b, h, h, l, sl, e, ev, scale, null, keep, false), withBool, "sdpa bool mask");

            // a [B, H, L, S] mask, different per head
            double[] add4 = Ref.normal(r, b * h * l * sl);
            Tensor perHead = Tensor.scaledDotProductAttention(tq, tk, tv, Tensor.of(add4, b, h, l, sl), 0, false, null);
            double[] exp = new double[b * h * l * ev];
            for (int hh = 0; hh < h; hh++) {
                double[] qh = java.util.Arrays.copyOfRange(q, hh * l * e, (hh + 1) * l * e);
                double[] kh = java.util.Arrays.copyOfRange(k, hh * sl * e, (hh + 1) * sl * e);
                double[] vh = java.util.Arrays.copyOfRange(v, hh * sl * ev, (hh + 1) * sl * ev);
                double[] mh = java.util.Arrays.copyOfRange(add4, hh * l * sl, (hh + 1) * l * sl);
                System.arraycopy(attention(qh, kh, vh, 1, 1, 1, l, sl, e, ev, scale, mh, null, false), 0, exp, hh * l * ev, l * ev);
            }
            assertClose64(exp, perHead, "sdpa per-head mask");

            assertThrows(TorchException.class,
                    () -> Tensor.scaledDotProductAttention(tq, tk, tv, Tensor.of(add, l, sl), 0, true, null));
            assertThrows(TorchException.class, () -> Tensor.scaledDotProductAttention(tq, tk, tq, null, 0, false, null));
            assertThrows(TorchException.class, () -> Tensor.scaledDotProductAttention(tq.select(0, 0), tk, tv, null, 0, false, null));
        }
    }

    @Test
    void sdpaGroupedQueryAttention() {
        try (Scope s = Scope.open()) {
            Random r = new Random(45);
            int b = 2, hq = 4, hkv = 2, l = 4, e = 4;
            double[] q = Ref.normal(r, b * hq * l * e), k = Ref.normal(r, b * hkv * l * e), v = Ref.normal(r, b * hkv * l * e);
            Tensor tq = Tensor.of(q, b, hq, l, e), tk = Tensor.of(k, b, hkv, l, e), tv = Tensor.of(v, b, hkv, l, e);
            Tensor causal = Tensor.scaledDotProductAttention(tq, tk, tv, null, 0, true, null);
            assertShape(causal, b, hq, l, e);
            assertClose64(attention(q, k, v, b, hq, hkv, l, l, e, e, 0.5, null, null, true), causal, "gqa causal");
            double[] add = Ref.normal(r, l * l);
            Tensor masked = Tensor.scaledDotProductAttention(tq, tk, tv, Tensor.of(add, l, l), 0, false, 0.9);
            assertClose64(attention(q, k, v, b, hq, hkv, l, l, e, e, 0.9, add, null, false), masked, "gqa mask scale");
            // heads 0 and 1 share kv head 0, heads 2 and 3 share kv head 1 (not h % 2)
            double[] wrong = attention(q, k, v, b, hq, hkv, l, l, e, e, 0.5, null, null, true);
            double[] interleaved = new double[wrong.length];
            double[] got = causal.toDoubleArray();
            for (int bi = 0; bi < b; bi++)
                for (int hh = 0; hh < hq; hh++) {
                    double[] qh = java.util.Arrays.copyOfRange(q, (bi * hq + hh) * l * e, (bi * hq + hh + 1) * l * e);
                    int kvh = hh / 2;
                    double[] kh = java.util.Arrays.copyOfRange(k, (bi * hkv + kvh) * l * e, (bi * hkv + kvh + 1) * l * e);
                    double[] vh = java.util.Arrays.copyOfRange(v, (bi * hkv + kvh) * l * e, (bi * hkv + kvh + 1) * l * e);
                    System.arraycopy(attention(qh, kh, vh, 1, 1, 1, l, l, e, e, 0.5, null, null, true), 0,
                            interleaved, (bi * hq + hh) * l * e, l * e);
                }
            assertClose(interleaved, got, 1e-10, 1e-12, "gqa head h uses kv head h / 2");
            assertThrows(TorchException.class,
                    () -> Tensor.scaledDotProductAttention(Tensor.zeros(1, 3, 2, 4), Tensor.zeros(1, 2, 2, 4), Tensor.zeros(1, 2, 2, 4),
                            null, 0, false, null));
        }
    }

    // =====================================================================================================
    // Dropout
    // =====================================================================================================

    @Test
    void dropout() {
        try (Scope s = Scope.open()) {
            int n = 10_000;
            double[] x = Ref.uniform(new Random(46), n, 0.5, 1.5);
            Tensor t = Tensor.of(Ref.f32(x));
            float[] xf = Ref.f32(x);
            assertArrayEquals(xf, t.dropout(0.3, false).toFloatArray(), "train=false is the identity");
            assertArrayEquals(xf, t.dropout(0.0, true).toFloatArray(), "p=0 is the identity");
            assertArrayEquals(new float[n], t.dropout(1.0, true).toFloatArray(), "p=1 zeroes everything");

            Torch.manualSeed(99);
            for (double p : new double[] {0.1, 0.5}) {
                float[] y = t.dropout(p, true).toFloatArray();
                int zeros = 0;
                for (int i = 0; i < n; i++) {
                    if (y[i] == 0) {
                        zeros++;
                    } else {
                        double exp = xf[i] / (1 - p);
                        assertEquals(exp, y[i], 1e-6 * exp, "kept element " + i + " is x / (1 - p)");
                    }
                }
                double frac = zeros / (double) n;
                assertTrue(Math.abs(frac - p) < 0.03, "zero fraction " + frac + " for p " + p);
            }
            Tensor d64 = Tensor.of(x).dropout(0.2, true);
            assertEquals(DType.FLOAT64, d64.dtype());
            assertShape(d64, n);
            assertThrows(TorchException.class, () -> t.dropout(1.5, true));
            assertThrows(TorchException.class, () -> t.dropout(-0.1, false));
        }
    }

    // =====================================================================================================
    // Normalisation
    // =====================================================================================================

    /** Normalises x in groups of the last `group` elements: rms (layer=false) or layer norm, then * w + b. */
    private static double[] normRef(double[] x, int group, double[] w, double[] b, double eps, boolean layer) {
        double[] out = new double[x.length];
        for (int g = 0; g < x.length / group; g++) {
            double mean = 0;
            if (layer) {
                for (int i = 0; i < group; i++) mean += x[g * group + i];
                mean /= group;
            }
            double sq = 0;
            for (int i = 0; i < group; i++) {
                double d = x[g * group + i] - mean;
                sq += d * d;
            }
            double inv = 1 / Math.sqrt(sq / group + eps);
            for (int i = 0; i < group; i++) {
                out[g * group + i] = (x[g * group + i] - mean) * inv * (w == null ? 1 : w[i]) + (b == null ? 0 : b[i]);
            }
        }
        return out;
    }

    @Test
    void rmsNorm() {
        try (Scope s = Scope.open()) {
            Random r = new Random(47);
            double[] x = Ref.normal(r, 24), w = Ref.uniform(r, 4, 0.5, 1.5), w12 = Ref.normal(r, 12);
            Tensor t = Tensor.of(x, 2, 3, 4);
            Tensor y = t.rmsNorm(new long[] {4}, Tensor.of(w), 1e-6);
            assertShape(y, 2, 3, 4);
            assertClose64(normRef(x, 4, w, null, 1e-6, false), y, "rms_norm");
            assertClose64(normRef(x, 4, null, null, 1e-6, false), t.rmsNorm(new long[] {4}, null, 1e-6), "rms_norm no weight");
            assertClose64(normRef(x, 4, w, null, 0.5, false), t.rmsNorm(new long[] {4}, Tensor.of(w), 0.5), "rms_norm eps 0.5");
            assertClose64(normRef(x, 12, w12, null, 1e-5, false), t.rmsNorm(new long[] {3, 4}, Tensor.of(w12, 3, 4), 1e-5),
                    "rms_norm over two dims");
            Tensor yf = Tensor.of(Ref.f32(x), 2, 3, 4).rmsNorm(new long[] {4}, Tensor.of(Ref.f32(w)), 1e-6);
            assertClose32(normRef(Ref.roundF32(x), 4, Ref.roundF32(w), null, 1e-6, false), yf, "rms_norm f32");
            // eps matters for tiny inputs
            Tensor tiny = Tensor.of(new double[] {1e-4, -1e-4, 1e-4, 1e-4});
            assertClose64(normRef(new double[] {1e-4, -1e-4, 1e-4, 1e-4}, 4, null, null, 1e-6, false),
                    tiny.rmsNorm(new long[] {4}, null, 1e-6), "rms_norm tiny");
        }
    }

    @Test
    void layerNorm() {
        try (Scope s = Scope.open()) {
            Random r = new Random(48);
            double[] x = Ref.normal(r, 24), w = Ref.normal(r, 4), b = Ref.normal(r, 4), w12 = Ref.normal(r, 12), b12 = Ref.normal(r, 12);
            for (int i = 0; i < 24; i++) x[i] = 3 + 2 * x[i]; // nonzero mean, non-unit variance
            Tensor t = Tensor.of(x, 2, 3, 4);
            Tensor y = t.layerNorm(new long[] {4}, Tensor.of(w), Tensor.of(b), 1e-5);
            assertShape(y, 2, 3, 4);
            assertClose64(normRef(x, 4, w, b, 1e-5, true), y, "layer_norm");
            assertClose64(normRef(x, 4, null, null, 1e-5, true), t.layerNorm(new long[] {4}, null, null, 1e-5), "layer_norm plain");
            assertClose64(normRef(x, 4, w, null, 1e-5, true), t.layerNorm(new long[] {4}, Tensor.of(w), null, 1e-5), "layer_norm no bias");
            assertClose64(normRef(x, 12, w12, b12, 0.1, true),
                    t.layerNorm(new long[] {3, 4}, Tensor.of(w12, 3, 4), Tensor.of(b12, 3, 4), 0.1), "layer_norm over two dims");
            Tensor yf = Tensor.of(Ref.f32(x), 2, 3, 4).layerNorm(new long[] {4}, Tensor.of(Ref.f32(w)), Tensor.of(Ref.f32(b)), 1e-5);
            assertClose(normRef(Ref.roundF32(x), 4, Ref.roundF32(w), Ref.roundF32(b), 1e-5, true), yf.toDoubleArray(), 1e-4, 1e-5,
                    "layer_norm f32");
        }
    }
}
