package io.higgs4j.nn;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A parameter has one home, its {@link Parameter} box: whatever replaces the tensor (setParameter, exchangeParameter,
 * a dtype move) must change what forward computes. Each expected value below is worked out by hand from the weights
 * set, so a module that read a stale field would fail.
 */
class ParameterTest {

    static final Init F32 = Init.cpu(DType.FLOAT32);

    static float[] run(Layer m, Tensor x) {
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            return m.forward(x).toFloatArray();
        }
    }

    @Test
    void setParameterChangesWhatLinearComputes() {
        try (Linear l = new Linear(2, 2, true, F32); Scope s = Scope.open()) {
            Parameter box = l.getParameter("weight");
            l.setParameter("weight", Tensor.of(new float[] {1, 2, 3, 4}, 2, 2));
            l.setParameter("bias", Tensor.of(new float[] {10, 20}, 2));
            // [1, 1] W^T + b = [1 + 2 + 10, 3 + 4 + 20]
            assertArrayEquals(new float[] {13, 27}, run(l, Tensor.of(new float[] {1, 1}, 1, 2)));
            assertSame(box, l.getParameter("weight"), "the tensor is swapped inside the box the module reads");
            assertSame(box.get(), l.weight());
        }
    }

    @Test
    void setParameterByFullNameReachesANestedModule() {
        try (Sequential seq = new Sequential(); Scope s = Scope.open()) {
            seq.add(new Linear(2, 1, false, F32));
            seq.add(new Linear(1, 1, false, F32));
            seq.setParameter("0.weight", Tensor.of(new float[] {2, -1}, 1, 2));
            seq.setParameter("1.weight", Tensor.of(new float[] {3}, 1, 1));
            // (5 * 2 + 1 * -1) * 3
            assertArrayEquals(new float[] {27}, run(seq, Tensor.of(new float[] {5, 1}, 1, 2)));
            var e = assertThrows(IllegalArgumentException.class, () -> seq.setParameter("0.nope", Tensor.zeros(1)));
            assertTrue(e.getMessage().contains("nope"), e.getMessage());
        }
    }

    @Test
    void everyModuleWithParametersReadsTheBox() {
        try (Scope s = Scope.open()) {
            try (Embedding m = new Embedding(3, 2, -1, F32)) {
                m.setParameter("weight", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2));
                assertArrayEquals(new float[] {5, 6, 1, 2}, m.forward(Tensor.of(new long[] {2, 0}, 2)).toFloatArray());
            }
            try (LayerNorm m = new LayerNorm(2, 0, F32)) {
                m.setParameter("weight", Tensor.of(new float[] {2, 3}, 2));
                m.setParameter("bias", Tensor.of(new float[] {10, 20}, 2));
                // [1, 3]: mean 2, variance 1 -> [-1, 1] -> [-2 + 10, 3 + 20]
                assertArrayEquals(new float[] {8, 23}, run(m, Tensor.of(new float[] {1, 3}, 1, 2)), 1e-5f);
            }
            try (RMSNorm m = new RMSNorm(2, 0, F32)) {
                m.setParameter("weight", Tensor.of(new float[] {2, 0.5f}, 2));
                // [3, 4] / sqrt((9 + 16) / 2) * [2, 0.5]
                double r = Math.sqrt(12.5);
                float[] got = m.forward(Tensor.of(new float[] {3, 4}, 1, 2)).toFloatArray();
                assertArrayEquals(new float[] {(float) (6 / r), (float) (2 / r)}, got, 1e-6f);
            }
            try (Snake1d m = new Snake1d(1, F32)) {
                m.setParameter("alpha", Tensor.of(new float[] {2}, 1, 1, 1));
                // x + sin(2x)^2 / 2 at x = 0.5
                double sin = Math.sin(1.0);
                assertArrayEquals(new float[] {(float) (0.5 + sin * sin / 2)}, run(m, Tensor.of(new float[] {0.5f}, 1, 1, 1)), 1e-6f);
            }
            try (Conv1d m = new Conv1d(1, 1, 2, 1, 0, true, F32)) {
                m.setParameter("weight", Tensor.of(new float[] {1, 2}, 1, 1, 2));
                m.setParameter("bias", Tensor.of(new float[] {5}, 1));
                // [1, 2, 3] * [1, 2] + 5 = [1 + 4 + 5, 2 + 6 + 5]
                assertArrayEquals(new float[] {10, 13}, run(m, Tensor.of(new float[] {1, 2, 3}, 1, 1, 3)));
            }
            try (WNConv1d m = new WNConv1d(1, 1, 2, 1, 0, 1, F32)) {
                m.setParameter("weight_v", Tensor.of(new float[] {3, 4}, 1, 1, 2));
                m.setParameter("weight_g", Tensor.of(new float[] {10}, 1, 1, 1));
                m.setParameter("bias", Tensor.of(new float[] {1}, 1));
                // weight = 10 * [3, 4] / 5 = [6, 8]; [1, 1, 1] * [6, 8] + 1 = [15, 15]
                assertArrayEquals(new float[] {15, 15}, run(m, Tensor.of(new float[] {1, 1, 1}, 1, 1, 3)), 1e-5f);
            }
            try (WNConvTranspose1d m = new WNConvTranspose1d(1, 1, 2, 1, 0, 0, F32)) {
                m.setParameter("weight_v", Tensor.of(new float[] {3, 4}, 1, 1, 2));
                m.setParameter("weight_g", Tensor.of(new float[] {5}, 1, 1, 1));
                m.setParameter("bias", Tensor.of(new float[] {0}, 1));
                // weight = 5 * [3, 4] / 5 = [3, 4]; transposed convolution of [1, 2]: [1*3, 1*4 + 2*3, 2*4]
                assertArrayEquals(new float[] {3, 10, 8}, run(m, Tensor.of(new float[] {1, 2}, 1, 1, 2)), 1e-5f);
            }
        }
    }

    @Test
    void theModuleOwnsWhatItIsGivenAndFreesWhatItReplaces() {
        try (Linear l = new Linear(1, 1, false, F32)) {
            Tensor first = l.weight();
            Tensor given;
            try (Scope s = Scope.open()) {
                given = Tensor.of(new float[] {4}, 1, 1); // made inside a scope that closes before the module is used
                l.setParameter("weight", given);
            }
            assertTrue(first.isClosed(), "the replaced tensor is freed");
            assertFalse(given.isClosed(), "the module took the new tensor out of the scope");
            try (Scope s = Scope.open()) {
                assertArrayEquals(new float[] {8}, run(l, Tensor.of(new float[] {2}, 1, 1)));
                Tensor old = l.exchangeParameter("weight", Tensor.of(new float[] {-1}, 1, 1));
                assertSame(given, old);
                assertFalse(old.isClosed(), "exchangeParameter hands the previous tensor back open");
                assertArrayEquals(new float[] {-2}, run(l, Tensor.of(new float[] {2}, 1, 1)));
                old.close();
            }
        }
    }

    @Test
    void aDtypeMoveKeepsTheBoxAndForwardUsesTheMovedTensor() {
        try (Linear l = new Linear(1, 1, false, F32); Scope s = Scope.open()) {
            // 1.001 is not a bfloat16: its nearest is 1 (spacing 2^-7 near 1), so forward gives 2, not 2.002.
            l.setParameter("weight", Tensor.of(new float[] {1.001f}, 1, 1));
            l.requiresGrad(true);
            Parameter box = l.getParameter("weight");
            Tensor before = box.get();
            l.to(DType.BFLOAT16);
            assertSame(box, l.getParameter("weight"));
            assertTrue(before.isClosed(), "the float32 tensor is freed");
            assertEquals(DType.BFLOAT16, l.weight().dtype());
            assertTrue(l.weight().requiresGrad(), "requires_grad survives the move");
            try (var g = Torch.noGrad()) {
                Tensor y = l.forward(Tensor.of(new float[] {2}, 1, 1));
                assertEquals(DType.BFLOAT16, y.dtype(), "forward computes in the moved weight's dtype");
                assertArrayEquals(new float[] {2}, y.toFloatArray());
            }
        }
    }

    @Test
    void aDtypeMoveReachesWeightNormedConvolutions() {
        try (WNConv1d m = new WNConv1d(1, 1, 2, 1, 0, 1, F32); Scope s = Scope.open()) {
            m.setParameter("weight_v", Tensor.of(new float[] {3, 4}, 1, 1, 2));
            m.setParameter("weight_g", Tensor.of(new float[] {10}, 1, 1, 1));
            m.setParameter("bias", Tensor.of(new float[] {1}, 1));
            m.to(DType.FLOAT64);
            for (Tensor p : m.parameters()) assertEquals(DType.FLOAT64, p.dtype());
            try (var g = Torch.noGrad()) {
                Tensor y = m.forward(Tensor.of(new double[] {1, 1, 1}, 1, 1, 3));
                assertEquals(DType.FLOAT64, y.dtype());
                assertArrayEquals(new double[] {15, 15}, y.toDoubleArray(), 1e-12);
            }
        }
    }
}
