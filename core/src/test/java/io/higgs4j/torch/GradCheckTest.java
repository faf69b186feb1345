package io.higgs4j.torch;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks the gradient of every differentiable op of the {@link Tensor} API against central finite differences at
 * float64, and the autograd API itself (accumulation, zeroGrad, resetGrad, noGrad, detach, explicit gradients).
 *
 * <p>For an op f and inputs x, the loss is L = sum(f(x) * W) with a fixed random W of f's output shape, so the
 * gradient reaching f's output is not all ones. The analytic gradient of every input (from backward) is compared
 * element by element with (L(x + h e_i) - L(x - h e_i)) / 2h, where L is re-evaluated under no-grad.
 */
class GradCheckTest {

    private static final double H = 1e-6;
    private static final double ATOL = 1e-6;
    private static final double RTOL = 1e-5;

    /** The op under test, applied to the inputs in order. */
    @FunctionalInterface
    interface Fn {
        Tensor apply(Tensor[] x);
    }

    /** One float64 input of an op: its values (row-major) and shape. */
    record In(double[] data, long[] shape) {
        Tensor tensor() {
            return Tensor.of(data.clone(), shape);
        }
    }

    /** JUnit makes a fresh instance per test, so every test draws the same numbers whatever the order. */
    private final Random rnd = new Random(0x5EED_2024L);
    private Scope scope;

    @BeforeEach
    void openScope() {
        scope = Scope.open();
    }

    @AfterEach
    void closeScope() {
        scope.close();
    }

    // =====================================================================================================
    // The check
    // =====================================================================================================

    private void check(String name, Fn f, In... inputs) {
        check(name, H, ATOL, RTOL, f, inputs);
    }

    private void check(String name, double h, double atol, double rtol, Fn f, In... inputs) {
        Tensor[] leaves = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            leaves[i] = inputs[i].tensor().requiresGrad(true);
            assertTrue(leaves[i].requiresGrad(), name + ": leaf " + i + " does not require grad");
        }
        Tensor y = f.apply(leaves);
        assertEquals(DType.FLOAT64, y.dtype(), name + ": output dtype");
        assertTrue(y.requiresGrad(), name + ": output does not require grad");

        double[] w = new double[Math.toIntExact(y.numel())];
        for (int i = 0; i < w.length; i++) w[i] = 0.5 + rnd.nextDouble() * (rnd.nextBoolean() ? 1 : -2);
        Tensor weight = Tensor.of(w, y.shape());
        Tensor loss = y.mul(weight).sum();
        loss.backward();

        StringBuilder failures = new StringBuilder();
        double worst = 0;
        for (int i = 0; i < inputs.length; i++) {
            In in = inputs[i];
            Tensor g = leaves[i].grad();
            double[] analytic;
            if (g == null) {
                failures.append("  input ").append(i).append(": grad() is null\n");
                analytic = new double[in.data.length];
            } else {
                assertArrayEquals(in.shape, g.shape(), name + ": shape of the gradient of input " + i);
                assertEquals(DType.FLOAT64, g.dtype(), name + ": dtype of the gradient of input " + i);
                analytic = g.toDoubleArray();
            }
            for (int j = 0; j < in.data.length; j++) {
                double plus = lossAt(f, inputs, weight, i, j, h);
                double minus = lossAt(f, inputs, weight, i, j, -h);
                double numeric = (plus - minus) / (2 * h);
                double err = Math.abs(analytic[j] - numeric);
                worst = Math.max(worst, err);
                if (!(err <= atol + rtol * Math.abs(numeric))) {
                    failures.append(String.format("  input %d %s element %d: analytic %.10g, numeric %.10g, |diff| %.3g%n",
                            i, Arrays.toString(in.shape), j, analytic[j], numeric, err));
                }
            }
        }
        if (!failures.isEmpty()) fail(name + ": gradient differs from finite differences (worst |diff| " + worst + "):\n" + failures);
    }

    /** L with input `which` moved by delta at element `index`, computed under no-grad. */
    private static double lossAt(Fn f, In[] inputs, Tensor weight, int which, int index, double delta) {
        try (GradMode g = Torch.noGrad(); Scope s = Scope.open()) {
            Tensor[] xs = new Tensor[inputs.length];
            for (int k = 0; k < inputs.length; k++) {
                double[] d = inputs[k].data.clone();
                if (k == which) d[index] += delta;
                xs[k] = Tensor.of(d, inputs[k].shape);
            }
            return f.apply(xs).mul(weight).sum().item();
        }
    }

    // =====================================================================================================
    // Inputs
    // =====================================================================================================

    private static int count(long[] shape) {
        return Math.toIntExact(Tensor.numel(shape));
    }

    private In randn(long... shape) {
        double[] d = new double[count(shape)];
        for (int i = 0; i < d.length; i++) d[i] = rnd.nextGaussian();
        return new In(d, shape);
    }

    private In uniform(double lo, double hi, long... shape) {
        double[] d = new double[count(shape)];
        for (int i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * rnd.nextDouble();
        return new In(d, shape);
    }

    /** Values with |x| in [min, min + 1), either sign: for ops with a kink or pole at 0. */
    private In awayFromZero(double min, long... shape) {
        double[] d = new double[count(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (rnd.nextBoolean() ? 1 : -1) * (min + rnd.nextDouble());
        return new In(d, shape);
    }

    /** Uniform on [lo, hi) but at least margin away from every edge. */
    private In avoiding(double[] edges, double margin, double lo, double hi, long... shape) {
        double[] d = new double[count(shape)];
        for (int i = 0; i < d.length; i++) {
            double v;
            boolean near;
            do {
                v = lo + (hi - lo) * rnd.nextDouble();
                near = false;
                for (double e : edges) near |= Math.abs(v - e) < margin;
            } while (near);
            d[i] = v;
        }
        return new In(d, shape);
    }

    /** Distinct values in random order, so max, min and their ties are well defined. */
    private In distinct(long... shape) {
        int n = count(shape);
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = (i - n / 2.0) * 0.37 + 0.05 * rnd.nextDouble();
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            double t = d[i];
            d[i] = d[j];
            d[j] = t;
        }
        return new In(d, shape);
    }

    private static Tensor longs(long[] data, long... shape) {
        return Tensor.of(data, shape);
    }

    private static Tensor bools(boolean[] data, long... shape) {
        return Tensor.of(data, shape);
    }

    @Test
    void checkCatchesAWrongGradient() {
        // detach(x) * x has true derivative 2x * W, but autograd only sees the second factor: the check must fail.
        AssertionFailedError e = assertThrows(AssertionFailedError.class,
                () -> check("deliberately wrong", x -> x[0].detach().mul(x[0]), awayFromZero(0.5, 2, 2)));
        assertTrue(e.getMessage().contains("element 3"), e.getMessage());
        // An input that never reaches the output has no gradient at all, which the check also reports.
        assertThrows(AssertionFailedError.class, () -> check("unused input", x -> x[0].mul(2.0), randn(2), randn(2)));
    }

    // =====================================================================================================
    // Arithmetic
    // =====================================================================================================

    @Test
    void add() {
        check("add", x -> x[0].add(x[1]), randn(2, 3), randn(2, 3));
        check("add broadcast", x -> x[0].add(x[1]), randn(2, 3), randn(3));
        check("add broadcast both", x -> x[0].add(x[1]), randn(2, 1), randn(1, 3));
        check("add alpha", x -> x[0].add(x[1], -2.5), randn(2, 3), randn(2, 3));
        check("add alpha broadcast", x -> x[0].add(x[1], 0.75), randn(2, 3), randn(1, 3));
        check("add scalar", x -> x[0].add(1.25), randn(2, 3));
    }

    @Test
    void sub() {
        check("sub", x -> x[0].sub(x[1]), randn(2, 3), randn(2, 3));
        check("sub broadcast", x -> x[0].sub(x[1]), randn(3), randn(2, 3));
        check("sub scalar", x -> x[0].sub(0.5), randn(2, 3));
        check("rsub", x -> x[0].rsub(2.0), randn(2, 3));
        check("neg", x -> x[0].neg(), randn(2, 3));
    }

    @Test
    void mul() {
        check("mul", x -> x[0].mul(x[1]), randn(2, 3), randn(2, 3));
        check("mul broadcast", x -> x[0].mul(x[1]), randn(2, 3), randn(2, 1));
        check("mul self", x -> x[0].mul(x[0]), randn(2, 3));
        check("mul scalar", x -> x[0].mul(-1.75), randn(2, 3));
    }

    @Test
    void div() {
        check("div", x -> x[0].div(x[1]), randn(2, 3), awayFromZero(0.5, 2, 3));
        check("div broadcast", x -> x[0].div(x[1]), randn(2, 3), awayFromZero(0.5, 3));
        check("div scalar", x -> x[0].div(-2.5), randn(2, 3));
    }

    @Test
    void pow() {
        check("pow 2", x -> x[0].pow(2.0), randn(2, 3));
        check("pow 3", x -> x[0].pow(3.0), randn(2, 3));
        check("pow 2.5", x -> x[0].pow(2.5), uniform(0.5, 2, 2, 3));
        check("pow -1.5", x -> x[0].pow(-1.5), uniform(0.5, 2, 2, 3));
        check("pow tensor", x -> x[0].pow(x[1]), uniform(0.5, 2, 2, 3), randn(2, 3));
        check("pow tensor broadcast", x -> x[0].pow(x[1]), uniform(0.5, 2, 2, 3), randn(3));
    }

    @Test
    void unaryFunctions() {
        check("abs", x -> x[0].abs(), awayFromZero(0.1, 2, 3));
        check("sqrt", x -> x[0].sqrt(), uniform(0.5, 2, 2, 3));
        check("rsqrt", x -> x[0].rsqrt(), uniform(0.5, 2, 2, 3));
        check("log", x -> x[0].log(), uniform(0.5, 2, 2, 3));
        check("exp", x -> x[0].exp(), randn(2, 3));
        check("sin", x -> x[0].sin(), randn(2, 3));
        check("cos", x -> x[0].cos(), randn(2, 3));
    }

    @Test
    void activations() {
        check("tanh", x -> x[0].tanh(), randn(2, 3));
        check("sigmoid", x -> x[0].sigmoid(), randn(2, 3));
        check("relu", x -> x[0].relu(), awayFromZero(0.1, 2, 4));
        check("silu", x -> x[0].silu(), randn(2, 4));
        check("gelu", x -> x[0].gelu(), randn(2, 4));
        check("gelu erf", x -> x[0].gelu(false), randn(2, 4));
        check("gelu tanh", x -> x[0].gelu(true), randn(2, 4));
    }

    @Test
    void clamp() {
        In x = avoiding(new double[] {-0.5, 0.5}, 0.02, -1.2, 1.2, 3, 4);
        check("clamp", t -> t[0].clamp(-0.5, 0.5), x);
        // Some elements on each side of each edge, so the check covers both the pass-through and the clamped parts.
        long below = Arrays.stream(x.data).filter(v -> v < -0.5).count();
        long inside = Arrays.stream(x.data).filter(v -> v > -0.5 && v < 0.5).count();
        long above = Arrays.stream(x.data).filter(v -> v > 0.5).count();
        assertTrue(below > 0 && inside > 0 && above > 0, "clamp input does not cover all three regions");
    }

    // =====================================================================================================
    // Linear algebra
    // =====================================================================================================

    @Test
    void matmul() {
        check("matmul 2-d", x -> x[0].matmul(x[1]), randn(2, 3), randn(3, 4));
        check("matmul batched", x -> x[0].matmul(x[1]), randn(2, 2, 3), randn(2, 3, 2));
        check("matmul broadcast batch", x -> x[0].matmul(x[1]), randn(2, 2, 3), randn(3, 2));
        check("matmul matrix-vector", x -> x[0].matmul(x[1]), randn(2, 3), randn(3));
        check("matmul transposed operand", x -> x[0].matmul(x[1].mT()), randn(2, 3), randn(4, 3));
    }

    @Test
    void linear() {
        check("linear with bias", x -> x[0].linear(x[1], x[2]), randn(2, 3), randn(4, 3), randn(4));
        check("linear without bias", x -> x[0].linear(x[1]), randn(2, 3), randn(4, 3));
        check("linear 3-d input", x -> x[0].linear(x[1], x[2]), randn(2, 2, 3), randn(2, 3), randn(2));
    }

    // =====================================================================================================
    // Reductions
    // =====================================================================================================

    @Test
    void sumAndMean() {
        check("sum", x -> x[0].sum(), randn(2, 3));
        check("sum dim", x -> x[0].sum(1, false), randn(2, 3));
        check("sum dim keepDim", x -> x[0].sum(0, true), randn(2, 3));
        check("sum negative dim", x -> x[0].sum(-1, false), randn(2, 3, 2));
        check("sum dims", x -> x[0].sum(new long[] {0, 2}, true), randn(2, 3, 2));
        check("mean", x -> x[0].mean(), randn(2, 3));
        check("mean dim", x -> x[0].mean(1, false), randn(2, 3));
        check("mean dim keepDim", x -> x[0].mean(0, true), randn(2, 3));
        check("mean dims", x -> x[0].mean(new long[] {1, 2}, false), randn(2, 3, 2));
    }

    @Test
    void maxAndMin() {
        check("max dim values", x -> x[0].max(1, false).get(0), distinct(3, 4));
        check("max dim values keepDim", x -> x[0].max(0, true).get(0), distinct(3, 4));
        check("min dim values", x -> x[0].min(-1, false).get(0), distinct(3, 4));
        check("max all", x -> x[0].max(), distinct(3, 4));
        check("min all", x -> x[0].min(), distinct(3, 4));
        check("amax", x -> x[0].amax(1, false), distinct(3, 4));
        check("amax keepDim", x -> x[0].amax(0, true), distinct(3, 4));
    }

    @Test
    void softmax() {
        check("softmax last", x -> x[0].softmax(-1), randn(2, 4));
        check("softmax first", x -> x[0].softmax(0), randn(3, 2));
        check("logSoftmax last", x -> x[0].logSoftmax(-1), randn(2, 4));
        check("logSoftmax middle", x -> x[0].logSoftmax(1), randn(2, 3, 2));
    }

    // =====================================================================================================
    // Views and shape
    // =====================================================================================================

    @Test
    void views() {
        check("view", x -> x[0].view(3, 2), randn(2, 3));
        check("view inferred", x -> x[0].view(-1, 6), randn(2, 3, 2));
        check("reshape", x -> x[0].reshape(3, -1), randn(2, 3));
        check("reshape non-contiguous", x -> x[0].transpose(0, 1).reshape(-1), randn(2, 3));
        check("flatten", x -> x[0].flatten(), randn(2, 3));
        check("transpose", x -> x[0].transpose(0, 1), randn(2, 3));
        check("transpose 3-d", x -> x[0].transpose(-1, 0), randn(2, 3, 2));
        check("mT", x -> x[0].mT(), randn(2, 2, 3));
        check("permute", x -> x[0].permute(2, 0, 1), randn(2, 3, 2));
        check("contiguous", x -> x[0].transpose(0, 1).contiguous(), randn(2, 3));
        check("contiguous of contiguous", x -> x[0].contiguous(), randn(2, 3));
    }

    @Test
    void slicing() {
        check("slice", x -> x[0].slice(1, 1, 3), randn(2, 4));
        check("slice step", x -> x[0].slice(1, 0, 4, 2), randn(2, 4));
        check("slice negative start", x -> x[0].slice(0, -2, 3), randn(3, 2));
        check("narrow", x -> x[0].narrow(1, 1, 2), randn(2, 4));
        check("narrow negative start", x -> x[0].narrow(0, -2, 1), randn(3, 2));
        check("select", x -> x[0].select(0, 1), randn(3, 2));
        check("select negative", x -> x[0].select(1, -1), randn(3, 2));
    }

    @Test
    void squeezeAndExpand() {
        check("unsqueeze", x -> x[0].unsqueeze(1), randn(2, 3));
        check("unsqueeze end", x -> x[0].unsqueeze(-1), randn(2, 3));
        check("squeeze dim", x -> x[0].squeeze(1), randn(2, 1, 3));
        check("squeeze all", x -> x[0].squeeze(), randn(1, 3, 1));
        check("expand", x -> x[0].expand(4, 3), randn(1, 3));
        check("expand new dims", x -> x[0].expand(2, 3, 2), randn(3, 1));
        check("expand keep", x -> x[0].expand(-1, 3), randn(2, 1));
    }

    // =====================================================================================================
    // Indexing, joining, masking
    // =====================================================================================================

    @Test
    void indexSelect() {
        check("indexSelect dim 0", x -> x[0].indexSelect(0, longs(new long[] {2, 0, 2})), randn(3, 2));
        check("indexSelect dim 1", x -> x[0].indexSelect(1, longs(new long[] {1, 1, 3})), randn(2, 4));
        check("indexSelect int32", x -> x[0].indexSelect(0, Tensor.of(new int[] {1, 1})), randn(3, 2));
    }

    @Test
    void gather() {
        check("gather dim 1", x -> x[0].gather(1, longs(new long[] {0, 2, 2, 1, 1, 0}, 2, 3)), randn(2, 3));
        check("gather dim 0", x -> x[0].gather(0, longs(new long[] {1, 0, 1, 1}, 2, 2)), randn(3, 2));
    }

    @Test
    void maskedFill() {
        Fn f = x -> x[0].maskedFill(bools(new boolean[] {true, false, false, true, false, true}, 2, 3), 0.7);
        check("maskedFill", f, randn(2, 3));
        check("maskedFill broadcast mask", x -> x[0].maskedFill(bools(new boolean[] {false, true, false}, 1, 3), -3), randn(2, 3));
    }

    @Test
    void where() {
        Tensor cond = bools(new boolean[] {true, false, true, false, false, true}, 2, 3);
        check("where", x -> Tensor.where(cond, x[0], x[1]), randn(2, 3), randn(2, 3));
        check("where broadcast", x -> Tensor.where(cond, x[0], x[1]), randn(2, 3), randn(3));
        check("where all true", x -> Tensor.where(bools(new boolean[] {true, true}, 2), x[0], x[1]), randn(2), randn(2));
    }

    @Test
    void triangles() {
        check("triu", x -> x[0].triu(0), randn(3, 4));
        check("triu +1", x -> x[0].triu(1), randn(3, 4));
        check("tril", x -> x[0].tril(0), randn(3, 4));
        check("tril -1", x -> x[0].tril(-1), randn(2, 3, 3));
    }

    @Test
    void catAndStack() {
        check("cat dim 0", x -> Tensor.cat(List.of(x[0], x[1]), 0), randn(2, 3), randn(1, 3));
        check("cat dim -1", x -> Tensor.cat(List.of(x[0], x[1], x[0]), -1), randn(2, 1), randn(2, 3));
        check("stack dim 0", x -> Tensor.stack(List.of(x[0], x[1]), 0), randn(2, 3), randn(2, 3));
        check("stack dim -1", x -> Tensor.stack(List.of(x[0], x[1]), -1), randn(2, 3), randn(2, 3));
    }

    @Test
    void splitAndChunk() {
        // Pieces are recombined in a different order (and one scaled), so each piece's gradient must land in its place.
        check("split", x -> {
            List<Tensor> p = x[0].split(2, 1);
            assertEquals(3, p.size());
            return Tensor.cat(List.of(p.get(2), p.get(0).mul(3.0)), 1);
        }, randn(2, 5));
        check("split sizes", x -> {
            List<Tensor> p = x[0].split(new long[] {1, 3}, 1);
            return p.get(1).mul(p.get(0));
        }, randn(2, 4));
        check("chunk", x -> {
            List<Tensor> p = x[0].chunk(2, 0);
            assertEquals(2, p.size());
            return p.get(1).sub(p.get(0).mul(p.get(0)));
        }, randn(4, 3));
    }

    // =====================================================================================================
    // Neural-network functions
    // =====================================================================================================

    @Test
    void embedding() {
        // Row 1 appears three times, so its gradient accumulates; rows 2 and 4 are never looked up.
        check("embedding", x -> Tensor.embedding(x[0], longs(new long[] {1, 3, 1, 0, 1})), randn(5, 3));
        check("embedding 2-d indices", x -> Tensor.embedding(x[0], longs(new long[] {4, 4, 0, 2}, 2, 2)), randn(5, 2));
        check("embedding int32 indices", x -> Tensor.embedding(x[0], Tensor.of(new int[] {2, 2, 1})), randn(3, 2));
    }

    @Test
    void crossEntropy() {
        Tensor target = longs(new long[] {2, -100, 0, 3});
        check("crossEntropy", x -> x[0].crossEntropy(target, -100), randn(4, 4));
        check("crossEntropy sum smoothed", x -> x[0].crossEntropy(target, -100, Tensor.Reduction.SUM, 0.1), randn(4, 4));
        check("crossEntropy none", x -> x[0].crossEntropy(target, -100, Tensor.Reduction.NONE, 0.0), randn(4, 4));
        Tensor spatial = longs(new long[] {0, 2, -1, 1}, 2, 2);
        check("crossEntropy [N, C, d]", x -> x[0].crossEntropy(spatial, -1), randn(2, 3, 2));
    }

    @Test
    void crossEntropyIgnoredRowGetsNoGradient() {
        Tensor target = longs(new long[] {2, -100, 0});
        Tensor logits = Tensor.of(randn(3, 4).data, 3, 4).requiresGrad(true);
        logits.crossEntropy(target, -100).backward();
        double[] g = logits.grad().toDoubleArray();
        for (int c = 0; c < 4; c++) assertEquals(0.0, g[4 + c], 0.0, "ignored row got a gradient");
    }

    @Test
    void scaledDotProductAttention() {
        check("sdpa", x -> Tensor.scaledDotProductAttention(x[0], x[1], x[2], null, 0, false, null),
                randn(1, 2, 3, 2), randn(1, 2, 4, 2), randn(1, 2, 4, 2));
        check("sdpa causal", x -> Tensor.scaledDotProductAttention(x[0], x[1], x[2], null, 0, true, null),
                randn(1, 2, 3, 2), randn(1, 2, 3, 2), randn(1, 2, 3, 2));
        check("sdpa scale", x -> Tensor.scaledDotProductAttention(x[0], x[1], x[2], null, 0, false, 0.3),
                randn(1, 1, 3, 2), randn(1, 1, 3, 2), randn(1, 1, 3, 2));
        In mask = randn(3, 3);
        check("sdpa additive mask", x -> Tensor.scaledDotProductAttention(x[0], x[1], x[2], mask.tensor(), 0, false, null),
                randn(2, 1, 3, 2), randn(2, 1, 3, 2), randn(2, 1, 3, 2));
        Tensor boolMask = bools(new boolean[] {true, false, true, true, true, false, false, true, true}, 3, 3);
        check("sdpa bool mask", x -> Tensor.scaledDotProductAttention(x[0], x[1], x[2], boolMask, 0, false, null),
                randn(1, 2, 3, 2), randn(1, 2, 3, 2), randn(1, 2, 3, 2));
    }

    @Test
    void scaledDotProductAttentionMaskGradient() {
        check("sdpa mask gradient", x -> Tensor.scaledDotProductAttention(x[0], x[1], x[2], x[3], 0, false, null),
                randn(1, 2, 3, 2), randn(1, 2, 3, 2), randn(1, 2, 3, 2), randn(3, 3));
    }

    @Test
    void scaledDotProductAttentionGqa() {
        check("sdpa gqa", x -> Tensor.scaledDotProductAttention(x[0], x[1], x[2], null, 0, false, null),
                randn(1, 4, 3, 2), randn(1, 2, 3, 2), randn(1, 2, 3, 2));
        check("sdpa gqa causal", x -> Tensor.scaledDotProductAttention(x[0], x[1], x[2], null, 0, true, null),
                randn(1, 4, 3, 2), randn(1, 2, 3, 2), randn(1, 2, 3, 2));
        In mask = randn(3, 3);
        check("sdpa gqa additive mask", x -> Tensor.scaledDotProductAttention(x[0], x[1], x[2], mask.tensor(), 0, false, null),
                randn(1, 4, 3, 2), randn(1, 2, 3, 2), randn(1, 2, 3, 2));
    }

    @Test
    void dropout() {
        check("dropout eval", x -> x[0].dropout(0.5, false), randn(3, 4));
        Fn train = x -> {
            Torch.manualSeed(1234);
            return x[0].dropout(0.4, true);
        };
        check("dropout train", train, randn(3, 4));
        // The mask must really drop and scale, or the check above says little.
        double[] ones = new double[12];
        Arrays.fill(ones, 1);
        double[] out = train.apply(new Tensor[] {Tensor.of(ones, 3, 4)}).toDoubleArray();
        long zeros = Arrays.stream(out).filter(v -> v == 0).count();
        long scaled = Arrays.stream(out).filter(v -> Math.abs(v - 1 / 0.6) < 1e-12).count();
        assertTrue(zeros > 0 && scaled > 0 && zeros + scaled == 12, "dropout mask: " + Arrays.toString(out));
    }

    @Test
    void rmsNorm() {
        check("rmsNorm with weight", x -> x[0].rmsNorm(new long[] {4}, x[1], 1e-6), randn(2, 4), randn(4));
        check("rmsNorm without weight", x -> x[0].rmsNorm(new long[] {4}, null, 1e-6), randn(3, 4));
        check("rmsNorm two dims", x -> x[0].rmsNorm(new long[] {2, 3}, x[1], 1e-5), randn(2, 2, 3), randn(2, 3));
    }

    @Test
    void layerNorm() {
        check("layerNorm", x -> x[0].layerNorm(new long[] {4}, x[1], x[2], 1e-5), randn(2, 4), randn(4), randn(4));
        check("layerNorm without affine", x -> x[0].layerNorm(new long[] {4}, null, null, 1e-5), randn(3, 4));
        check("layerNorm two dims", x -> x[0].layerNorm(new long[] {2, 2}, x[1], x[2], 1e-5), randn(2, 2, 2), randn(2, 2), randn(2, 2));
    }

    // =====================================================================================================
    // Conversion and copies
    // =====================================================================================================

    @Test
    void dtypeRoundTrip() {
        // float32 rounding makes a 1e-6 step meaningless; a larger step and a looser tolerance still catch a lost
        // or wrongly scaled gradient.
        check("to float32 and back", 1e-2, 1e-4, 1e-4, x -> x[0].to(DType.FLOAT32).to(DType.FLOAT64), randn(2, 3));
        check("to float32, op, back", 1e-2, 1e-4, 1e-3, x -> x[0].to(DType.FLOAT32).mul(x[1].to(DType.FLOAT32)).to(DType.FLOAT64),
                randn(2, 3), randn(2, 3));
        check("to device and float32 and back", 1e-2, 1e-4, 1e-4,
                x -> x[0].to(Device.CPU, DType.FLOAT32).to(Device.CPU, DType.FLOAT64), randn(2, 3));
        check("to same dtype", x -> x[0].to(DType.FLOAT64), randn(2, 3));
        check("to same device", x -> x[0].to(Device.CPU), randn(2, 3));
    }

    @Test
    void copyAndClone() {
        check("copy_", x -> Tensor.zeros(new long[] {2, 3}, DType.FLOAT64, Device.CPU).copy_(x[0]), randn(2, 3));
        check("copy_ broadcast", x -> Tensor.zeros(new long[] {2, 3}, DType.FLOAT64, Device.CPU).copy_(x[0]), randn(3));
        check("copy_ into float32", 1e-2, 1e-4, 1e-4,
                x -> Tensor.zeros(new long[] {2, 3}, DType.FLOAT32, Device.CPU).copy_(x[0]).to(DType.FLOAT64), randn(2, 3));
        check("copy_ then op", x -> Tensor.zeros(new long[] {2, 3}, DType.FLOAT64, Device.CPU).copy_(x[0]).mul(x[0]), randn(2, 3));
        check("clone", x -> x[0].clone(), randn(2, 3));
        check("clone then op", x -> x[0].clone().mul(x[0]), randn(2, 3));
        check("share", x -> x[0].share().mul(x[0]), randn(2, 3));
    }

    // =====================================================================================================
    // The autograd API
    // =====================================================================================================

    private Tensor leaf(double... values) {
        return Tensor.of(values.clone(), values.length).requiresGrad(true);
    }

    private static double[] times(double[] a, double k) {
        double[] out = a.clone();
        for (int i = 0; i < out.length; i++) out[i] *= k;
        return out;
    }

    @Test
    void leafAndResultRequireGrad() {
        Tensor x = Tensor.of(new double[] {1, 2, 3}, 3);
        assertFalse(x.requiresGrad());
        assertFalse(x.mul(2).requiresGrad());
        assertNull(x.grad());
        x.requiresGrad(true);
        assertTrue(x.requiresGrad());
        assertTrue(x.mul(2).requiresGrad());
        assertNull(x.grad(), "a fresh leaf has no gradient");
        x.requiresGrad(false);
        assertFalse(x.requiresGrad());
    }

    @Test
    void gradientsAccumulateOverTwoBackwardCalls() {
        double[] v = {0.5, -1.5, 2.0};
        Tensor x = leaf(v);
        Tensor y = x.mul(x).sum();
        y.backward(true);
        assertArrayEquals(times(v, 2), x.grad().toDoubleArray(), 1e-12);
        y.backward();
        assertArrayEquals(times(v, 4), x.grad().toDoubleArray(), 1e-12);
        // A fresh graph adds to the accumulated gradient too.
        x.mul(3.0).sum().backward();
        double[] expected = times(v, 4);
        for (int i = 0; i < expected.length; i++) expected[i] += 3;
        assertArrayEquals(expected, x.grad().toDoubleArray(), 1e-12);
    }

    @Test
    void backwardTwiceWithoutRetainGraphThrows() {
        Tensor x = leaf(1, 2);
        Tensor y = x.exp().sum();
        y.backward();
        assertThrows(TorchException.class, y::backward);
    }

    @Test
    void zeroGradZeroes() {
        double[] v = {1, -2, 3};
        Tensor x = leaf(v);
        x.mul(x).sum().backward();
        Tensor before = x.grad();
        x.zeroGrad();
        Tensor g = x.grad();
        assertNotNull(g, "zeroGrad keeps the gradient tensor");
        assertArrayEquals(new double[3], g.toDoubleArray(), 0.0);
        assertArrayEquals(new double[3], before.toDoubleArray(), 0.0, "grad() shares storage with the gradient");
        x.mul(x).sum().backward();
        assertArrayEquals(times(v, 2), x.grad().toDoubleArray(), 1e-12);
        Tensor y = leaf(1, 2);
        y.zeroGrad(); // no gradient yet: nothing to do
        assertNull(y.grad());
    }

    @Test
    void resetGradDropsTheGradient() {
        double[] v = {1, -2, 3};
        Tensor x = leaf(v);
        x.mul(x).sum().backward();
        assertNotNull(x.grad());
        x.resetGrad();
        assertNull(x.grad());
        x.resetGrad(); // twice is harmless
        assertNull(x.grad());
        x.mul(x).sum().backward();
        assertArrayEquals(times(v, 2), x.grad().toDoubleArray(), 1e-12, "backward after resetGrad starts from zero");
    }

    @Test
    void noGradResultDoesNotRequireGrad() {
        Tensor x = leaf(1, 2, 3);
        assertTrue(GradMode.isEnabled());
        Tensor y;
        try (GradMode g = Torch.noGrad()) {
            assertFalse(GradMode.isEnabled());
            y = x.mul(x).sum();
            try (GradMode e = Torch.enableGrad()) {
                assertTrue(GradMode.isEnabled());
                assertTrue(x.mul(2).requiresGrad(), "enableGrad inside noGrad records again");
            }
            assertFalse(GradMode.isEnabled());
        }
        assertTrue(GradMode.isEnabled(), "noGrad restores grad mode when closed");
        assertFalse(y.requiresGrad());
        assertThrows(TorchException.class, y::backward);
        assertNull(x.grad());
        assertTrue(x.mul(x).sum().requiresGrad());
    }

    @Test
    void detachCutsTheGraph() {
        double[] v = {0.5, -1.5, 2.0};
        Tensor x = leaf(v);
        Tensor d = x.detach();
        assertFalse(d.requiresGrad());
        assertArrayEquals(v, d.toDoubleArray(), 0.0);
        // d(sum(detach(x) * x))/dx = x: only the second factor counts.
        d.mul(x).sum().backward();
        assertArrayEquals(v, x.grad().toDoubleArray(), 1e-12);
        assertNull(d.grad());
    }

    @Test
    void backwardOnNonScalarWithoutGradientThrows() {
        Tensor x = leaf(1, 2, 3);
        Tensor y = x.mul(2.0);
        assertThrows(TorchException.class, y::backward);
        assertThrows(TorchException.class, () -> y.backward(true));
        assertNull(x.grad());
    }

    @Test
    void backwardWithExplicitGradient() {
        In in = randn(2, 3);
        Tensor x = in.tensor().requiresGrad(true);
        Tensor y = x.mul(x);
        double[] gv = randn(2, 3).data;
        y.backward(Tensor.of(gv, 2, 3), false);
        double[] expected = new double[6];
        for (int i = 0; i < 6; i++) expected[i] = 2 * in.data()[i] * gv[i];
        assertArrayEquals(expected, x.grad().toDoubleArray(), 1e-12);
        // A one-element output also accepts an explicit gradient, which scales the result.
        Tensor z = leaf(2.0, 3.0);
        z.mul(z).sum().backward(Tensor.of(new double[] {0.5}), false);
        assertArrayEquals(new double[] {2.0, 3.0}, z.grad().toDoubleArray(), 1e-12);
    }

    @Test
    void requiresGradOnIntegerTensorThrows() {
        Tensor i = Tensor.of(new long[] {1, 2, 3}, 3);
        assertThrows(TorchException.class, () -> i.requiresGrad(true));
        assertFalse(i.requiresGrad());
        i.requiresGrad(false); // turning it off is allowed
        Tensor b = Tensor.of(new boolean[] {true}, 1);
        assertThrows(TorchException.class, () -> b.requiresGrad(true));
    }

    @Test
    void gradientOfFloat32Leaf() {
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 3).requiresGrad(true);
        x.mul(x).sum().backward();
        Tensor g = x.grad();
        assertEquals(DType.FLOAT32, g.dtype());
        assertArrayEquals(new float[] {2, 4, 6}, g.toFloatArray(), 1e-6f);
    }
}
