package io.higgs4j.torch;

import io.higgs4j.optim.AdamW;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Runs where a CUDA libtorch is loaded (LIBTORCH pointing at one, on a machine with an NVIDIA GPU); skipped elsewhere. */
class CudaTest {

    static final Device CUDA = Device.cuda(0);

    @BeforeAll
    static void needsCuda() {
        assumeTrue(Torch.cudaAvailable(), "CUDA is not available");
    }

    @Test
    void devicesAreReported() {
        assertTrue(Torch.cudaDeviceCount() >= 1);
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.ones(2).to(CUDA);
            assertEquals(CUDA, t.device());
            assertEquals(Device.CPU, t.to(Device.CPU).device());
            assertEquals(CUDA, Tensor.zeros(new long[] {3}, DType.BFLOAT16, CUDA).device());
        }
    }

    @Test
    void opsOnCudaMatchTheCpu() {
        try (Scope s = Scope.open()) {
            Torch.manualSeed(3);
            Tensor a = Tensor.randn(64, 32), b = Tensor.randn(32, 16);
            float[] cpu = a.matmul(b).softmax(-1).add(1.0).mul(a.sum()).toFloatArray();
            float[] gpu = a.to(CUDA).matmul(b.to(CUDA)).softmax(-1).add(1.0).mul(a.to(CUDA).sum()).toFloatArray();
            assertArrayEquals(cpu, gpu, 1e-3f);
        }
    }

    @Test
    void backwardAndAdamWOnCuda() {
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.randn(new long[] {8, 4}, DType.FLOAT32, CUDA).requiresGrad(true);
            Tensor x = Tensor.randn(new long[] {16, 4}, DType.FLOAT32, CUDA);
            Tensor target = Tensor.of(new long[] {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7}).to(CUDA);
            double first = 0, last = 0;
            try (AdamW opt = new AdamW(List.of(w), AdamW.Options.defaults(0.05))) {
                for (int i = 0; i < 100; i++) {
                    try (Scope step = Scope.open()) {
                        Tensor loss = x.linear(w).crossEntropy(target, -100);
                        loss.backward();
                        assertEquals(CUDA, w.grad().device());
                        opt.step();
                        opt.zeroGrad();
                        if (i == 0) first = loss.item();
                        last = loss.item();
                    }
                }
            }
            assertTrue(last < first / 2, first + " -> " + last);
        }
    }

    @Test
    void attentionInBf16OnCuda() {
        try (Scope s = Scope.open()) {
            Tensor q = Tensor.randn(new long[] {1, 8, 128, 64}, DType.BFLOAT16, CUDA).requiresGrad(true);
            Tensor kv = Tensor.randn(new long[] {1, 2, 128, 64}, DType.BFLOAT16, CUDA);
            Tensor out = Tensor.scaledDotProductAttention(q, kv, kv, null, 0, true, null);
            assertArrayEquals(new long[] {1, 8, 128, 64}, out.shape());
            out.to(DType.FLOAT32).pow(2).mean().backward();
            assertEquals(DType.BFLOAT16, q.grad().dtype());
        }
    }

    @Test
    void seedingRepeatsOnCuda() {
        try (Scope s = Scope.open()) {
            Torch.manualSeed(11);
            float[] a = Tensor.randn(new long[] {100}, DType.FLOAT32, CUDA).toFloatArray();
            Torch.manualSeed(11);
            assertArrayEquals(a, Tensor.randn(new long[] {100}, DType.FLOAT32, CUDA).toFloatArray());
        }
    }

    @Test
    void mixingDevicesIsRefusedInJava() {
        try (Scope s = Scope.open()) {
            Tensor cpu = Tensor.ones(3), gpu = Tensor.ones(3).to(CUDA);
            TorchException e = assertThrows(TorchException.class, () -> cpu.add(gpu));
            assertTrue(e.getMessage().contains("cuda:0"), e.getMessage());
            assertArrayEquals(new float[] {2, 2, 2}, gpu.add(Tensor.scalar(1)).toFloatArray(), "a 0-dim CPU tensor may join");
        }
    }
}
