package io.higgs4j.optim;

import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class GradClipTest {

    @Test
    void clippingScalesToTheMaxNorm() {
        try (var s = io.higgs4j.torch.Scope.open()) {
            Tensor a = Tensor.of(new float[] {3, 0}).requiresGrad(true), b = Tensor.of(new float[] {0, 4}).requiresGrad(true);
            a.mul(a).sum().mul(0.5).add(b.mul(b).sum().mul(0.5)).backward(); // grads equal the values: norm 5
            assertEquals(5.0, GradClip.clip(List.of(a, b), 1.0), 1e-6);
            assertArrayEquals(new float[] {0.6f, 0f}, a.grad().toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {0f, 0.8f}, b.grad().toFloatArray(), 1e-6f);
        }
    }
}
