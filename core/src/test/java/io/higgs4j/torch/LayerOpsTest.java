package io.higgs4j.torch;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The typed Tensor methods that nn, optim, audio, tokenizer and higgs use instead of the escape hatch, against values
 * worked out by hand: each pins the argument order its Ops call passes (a swapped dim or flag changes the result).
 */
class LayerOpsTest {

    @Test
    void elementwiseAndReductions() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.of(new float[] {1, 2, 3}), b = Tensor.of(new float[] {4, -5, 6});
            assertEquals(1 * 4 - 2 * 5 + 3 * 6, a.dot(b).item(), 1e-6);
            assertArrayEquals(new float[] {0, 1, 2}, Tensor.of(new float[] {1, 10, 100}).log10().toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {4, 2, 6}, a.maximum(b).toFloatArray());
            Tensor m = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
            assertArrayEquals(new float[] {1, 3, 6, 4, 9, 15}, m.cumsum(-1).toFloatArray());
            assertArrayEquals(new float[] {1, 2, 3, 5, 7, 9}, m.cumsum(0).toFloatArray());
        }
    }

    @Test
    void sortTopkAndScatter() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {3, 1, 2, 0, 5, 4}, 2, 3);
            List<Tensor> asc = x.sort(-1, false);
            assertArrayEquals(new float[] {1, 2, 3, 0, 4, 5}, asc.get(0).toFloatArray());
            assertArrayEquals(new long[] {1, 2, 0, 0, 2, 1}, asc.get(1).toLongArray());
            assertArrayEquals(new float[] {3, 2, 1, 5, 4, 0}, x.sort(1, true).get(0).toFloatArray());
            List<Tensor> top = x.topk(2, -1, true, true);
            assertArrayEquals(new float[] {3, 2, 5, 4}, top.get(0).toFloatArray());
            assertArrayEquals(new long[] {0, 2, 1, 2}, top.get(1).toLongArray());
            assertArrayEquals(new float[] {1, 2, 0, 4}, x.topk(2, -1, false, true).get(0).toFloatArray());
            // out[i][index[i][j]] = src[i][j]
            Tensor index = Tensor.of(new long[] {2, 0, 1, 0}, 2, 2);
            Tensor src = Tensor.of(new float[] {10, 20, 30, 40}, 2, 2);
            assertArrayEquals(new float[] {20, 1, 10, 40, 30, 4}, x.scatter(1, index, src).toFloatArray());
        }
    }

    @Test
    void padAndPooling() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 2, 3}, 1, 1, 3);
            assertArrayEquals(new float[] {0, 1, 2, 3, 0, 0}, x.pad(new long[] {1, 2}, "constant", null).toFloatArray());
            assertArrayEquals(new float[] {7, 1, 2, 3, 7}, x.pad(new long[] {1, 1}, "constant", 7.0).toFloatArray());
            assertArrayEquals(new float[] {2, 1, 2, 3, 2}, x.pad(new long[] {1, 1}, "reflect", null).toFloatArray());
            Tensor y = Tensor.of(new float[] {1, 3, 5, 7, 9}, 1, 1, 5);
            assertArrayEquals(new float[] {2, 6}, y.avgPool1d(2, 2, 0, false, true).toFloatArray());
            assertArrayEquals(new float[] {2, 6, 9}, y.avgPool1d(2, 2, 0, true, true).toFloatArray());
            // padding 1, count_include_pad: the first window is (0 + 1) / 2, without it 1 / 1.
            assertArrayEquals(new float[] {0.5f, 4, 8}, y.avgPool1d(2, 2, 1, false, true).toFloatArray());
            assertArrayEquals(new float[] {1, 4, 8}, y.avgPool1d(2, 2, 1, false, false).toFloatArray());
        }
    }

    @Test
    void convolutions() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 1, 4);
            Tensor w = Tensor.of(new float[] {1, -1}, 1, 1, 2);
            Tensor bias = Tensor.of(new float[] {10});
            // Cross-correlation: x[t] - x[t+1].
            assertArrayEquals(new float[] {9, 9, 9}, Tensor.conv1d(x, w, bias, 1, 0, 1, 1).toFloatArray());
            assertArrayEquals(new float[] {9, 9}, Tensor.conv1d(x, w, bias, 2, 0, 1, 1).toFloatArray());
            assertArrayEquals(new float[] {-1, -1, -1, -1, 4}, Tensor.conv1d(x, w, null, 1, 1, 1, 1).toFloatArray());
            assertArrayEquals(new float[] {-2, -2}, Tensor.conv1d(x, w, null, 1, 0, 2, 1).toFloatArray());
            // Transposed: each input scatters x[t] * w into out[t * stride ..], here stride 2 with no overlap.
            Tensor y = Tensor.of(new float[] {1, 2}, 1, 1, 2);
            assertArrayEquals(new float[] {1, -1, 2, -2},
                    Tensor.convTranspose1d(y, w, null, 2, 0, 0, 1, 1).toFloatArray());
            assertArrayEquals(new float[] {1, -1, 2, -2, 0},
                    Tensor.convTranspose1d(y, w, null, 2, 0, 1, 1, 1).toFloatArray());
            assertArrayEquals(new float[] {11, 11, 8},
                    Tensor.convTranspose1d(y, w, bias, 1, 0, 0, 1, 1).toFloatArray());
        }
    }

    @Test
    void weightNormAndGroupNorm() {
        try (Scope s = Scope.open()) {
            // v [2, 2]: rows (3, 4) and (0, 5), both of norm 5; columns (3, 0) and (4, 5), of norms 3 and sqrt(41).
            Tensor v = Tensor.of(new float[] {3, 4, 0, 5}, 2, 2);
            assertArrayEquals(new float[] {5, 5}, v.normExceptDim(2, 0).toFloatArray());
            assertArrayEquals(new float[] {3, 6.4031243f}, v.normExceptDim(2, 1).toFloatArray(), 1e-5f);
            Tensor g = Tensor.of(new float[] {10, 1}, 2, 1);
            assertArrayEquals(new float[] {6, 8, 0, 1}, Tensor.weightNorm(v, g, 0).toFloatArray(), 1e-5f);
            // Two groups of one channel each, over [1, 2, 2]: each channel normalised to (-1, 1), then w * x + b.
            Tensor x = Tensor.of(new float[] {1, 3, 10, 20}, 1, 2, 2);
            Tensor w = Tensor.of(new float[] {2, 3}), b = Tensor.of(new float[] {0, 1});
            assertArrayEquals(new float[] {-2, 2, -2, 4}, x.groupNorm(2, w, b, 0).toFloatArray(), 1e-4f);
            // One group over both channels: mean 8.5, variance 55.25.
            float sd = (float) Math.sqrt(55.25);
            assertArrayEquals(new float[] {-7.5f / sd, -5.5f / sd, 1.5f / sd, 11.5f / sd},
                    x.groupNorm(1, null, null, 0).toFloatArray(), 1e-5f);
        }
    }

    @Test
    void stftOfAConstantHasOnlyADcTerm() {
        try (Scope s = Scope.open()) {
            // A constant 1 with a rectangular window of 4: every frame's DFT is (4, 0, 0) (one-sided), reflect keeps 1.
            Tensor x = Tensor.ones(1, 8);
            Tensor spec = x.stft(4, 2, 4, null, true, "reflect", false, true);
            assertArrayEquals(new long[] {1, 3, 5}, spec.shape());
            float[] ri = spec.viewAsReal().toFloatArray(); // [1, 3, 5, 2]
            for (int f = 0; f < 3; f++) {
                for (int t = 0; t < 5; t++) {
                    int at = (f * 5 + t) * 2;
                    assertEquals(f == 0 ? 4 : 0, ri[at], 1e-5, "real part of bin " + f + " frame " + t);
                    assertEquals(0, ri[at + 1], 1e-5, "imaginary part of bin " + f + " frame " + t);
                }
            }
            assertArrayEquals(new long[] {1, 4, 5}, x.stft(4, 2, 4, null, true, "reflect", false, false).shape());
        }
    }

    @Test
    void multinomialPicksTheOnlyLikelyIndex() {
        try (Scope s = Scope.open()) {
            Tensor probs = Tensor.of(new float[] {0, 0, 1, 0, 1, 0, 0, 0}, 2, 4);
            assertArrayEquals(new long[] {2, 0}, probs.multinomial(1, false).toLongArray());
            assertArrayEquals(new long[] {2, 2, 0, 0}, probs.multinomial(2, true).toLongArray());
        }
    }

    @Test
    void foreachMulScalesEveryTensorInPlace() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.of(new float[] {1, 2}), b = Tensor.of(new float[] {3});
            Tensor.foreachMul_(List.of(a, b), Tensor.scalar(0.5));
            assertArrayEquals(new float[] {0.5f, 1}, a.toFloatArray());
            assertArrayEquals(new float[] {1.5f}, b.toFloatArray());
        }
    }
}
