package io.higgs4j.torch;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class DeterminismTest {

    @Test
    void seedGivesPyTorchsStream() {
        try (Scope s = Scope.open()) {
            Torch.manualSeed(42);
            // torch.manual_seed(42); torch.randn(5) in PyTorch prints these.
            assertArrayEquals(new float[] {0.3367f, 0.1288f, 0.2345f, 0.2303f, -1.1229f}, Tensor.randn(5).toFloatArray(), 1e-4f);
        }
    }

    @Test
    void randRandnAndDropoutRepeatWithTheSeed() {
        try (Scope s = Scope.open()) {
            Torch.manualSeed(123);
            float[] r1 = Tensor.rand(50).toFloatArray(), n1 = Tensor.randn(50).toFloatArray();
            float[] d1 = Tensor.ones(200).dropout(0.5, true).toFloatArray();
            Torch.manualSeed(123);
            assertArrayEquals(r1, Tensor.rand(50).toFloatArray());
            assertArrayEquals(n1, Tensor.randn(50).toFloatArray());
            assertArrayEquals(d1, Tensor.ones(200).dropout(0.5, true).toFloatArray());
            Torch.manualSeed(124);
            assertFalse(java.util.Arrays.equals(r1, Tensor.rand(50).toFloatArray()));
        }
    }
}
