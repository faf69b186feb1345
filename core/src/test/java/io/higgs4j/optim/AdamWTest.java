package io.higgs4j.optim;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class AdamWTest {

    /** One AdamW update of a single parameter, by the formulas of torch.optim.AdamW, in plain Java. */
    @Test
    void stepsMatchTheAdamWFormulasComputedInJava() {
        double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
        double[] p = {0.5, -1.0, 2.0};
        double[][] grads = {{0.1, -0.2, 0.3}, {-0.4, 0.5, 0.0}, {1.0, 1.0, -1.0}};
        double[] m = new double[3], v = new double[3];
        try (Scope s = Scope.open()) {
            Tensor param = Tensor.of(p.clone()).requiresGrad(true);
            try (AdamW opt = new AdamW(List.of(param), new AdamW.Options(lr, b1, b2, eps, wd))) {
                for (int t = 1; t <= grads.length; t++) {
                    double[] g = grads[t - 1];
                    // d/dparam sum(param * g) = g
                    param.mul(Tensor.of(g)).sum().backward();
                    opt.step();
                    opt.zeroGrad();
                    for (int i = 0; i < 3; i++) {
                        p[i] -= lr * wd * p[i];
                        m[i] = b1 * m[i] + (1 - b1) * g[i];
                        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                        double mHat = m[i] / (1 - Math.pow(b1, t));
                        double vHat = v[i] / (1 - Math.pow(b2, t));
                        p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
                    }
                    assertArrayEquals(p, param.toDoubleArray(), 1e-9, "after step " + t);
                }
                assertEquals(3, opt.stepCount());
            }
        }
    }

    @Test
    void parametersWithoutGradientsAreLeftAlone() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.ones(2).requiresGrad(true), b = Tensor.ones(2).requiresGrad(true);
            try (AdamW opt = new AdamW(List.of(a, b), AdamW.Options.defaults(0.1))) {
                a.mul(2.0).sum().backward();
                opt.step();
                assertArrayEquals(new float[] {1, 1}, b.toFloatArray());
                assertNotEquals(1f, a.toFloatArray()[0]);
            }
        }
    }

    @Test
    void badOptionsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new AdamW.Options(-1, 0.9, 0.999, 1e-8, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW.Options(1e-3, 1.0, 0.999, 1e-8, 0));
        try (Tensor noGrad = Tensor.ones(1); Tensor leaf = Tensor.ones(1).requiresGrad(true); Tensor computed = leaf.mul(2.0)) {
            assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(noGrad), AdamW.Options.defaults(1e-3)));
            assertTrue(leaf.isLeaf());
            assertFalse(computed.isLeaf(), "as torch: (x * 2).is_leaf is False for x requiring grad");
            var e = assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(computed), AdamW.Options.defaults(1e-3)));
            assertTrue(e.getMessage().contains("not a leaf"), e.getMessage());
        }
    }

    /** A two-layer MLP on a smooth regression target: the loss must fall at least tenfold. */
    @Test
    void smallMlpLearns() {
        Torch.manualSeed(7);
        Random r = new Random(7);
        int n = 256;
        float[] x = new float[n * 2], y = new float[n];
        for (int i = 0; i < n; i++) {
            float x0 = (float) (r.nextDouble() * 2 - 1), x1 = (float) (r.nextDouble() * 2 - 1);
            x[2 * i] = x0;
            x[2 * i + 1] = x1;
            y[i] = (float) (Math.sin(3 * x0) + x1 * x1);
        }
        try (Scope s = Scope.open()) {
            Mlp mlp = new Mlp(2, 64, 1);
            Tensor inputs = Tensor.of(x, n, 2), targets = Tensor.of(y, n, 1);
            double first = 0, last = 0;
            try (AdamW opt = new AdamW(mlp.parameters(), AdamW.Options.defaults(1e-2))) {
                for (int step = 0; step < 500; step++) {
                    try (Scope stepScope = Scope.open()) {
                        Tensor loss = mlp.forward(inputs).sub(targets).pow(2).mean();
                        loss.backward();
                        opt.step();
                        opt.zeroGrad();
                        if (step == 0) first = loss.item();
                        last = loss.item();
                    }
                }
            }
            assertTrue(last * 10 <= first, "loss fell from " + first + " to " + last);
        }
    }

    /** Linear(in, hidden) -> SiLU -> Linear(hidden, out), initialised like torch.nn.Linear. */
    static final class Mlp {
        final Tensor w1, b1, w2, b2;

        Mlp(int in, int hidden, int out) {
            w1 = uniform(new long[] {hidden, in}, 1 / Math.sqrt(in));
            b1 = uniform(new long[] {hidden}, 1 / Math.sqrt(in));
            w2 = uniform(new long[] {out, hidden}, 1 / Math.sqrt(hidden));
            b2 = uniform(new long[] {out}, 1 / Math.sqrt(hidden));
        }

        private static Tensor uniform(long[] shape, double bound) {
            try (var g = Torch.noGrad(); Tensor u = Tensor.rand(shape)) {
                return u.mul(2 * bound).sub(bound).requiresGrad(true);
            }
        }

        List<Tensor> parameters() {
            return List.of(w1, b1, w2, b2);
        }

        Tensor forward(Tensor x) {
            return x.linear(w1, b1).silu().linear(w2, b2);
        }
    }
}
