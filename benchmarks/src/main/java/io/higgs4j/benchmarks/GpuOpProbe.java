package io.higgs4j.benchmarks;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

/**
 * For the GPU machine: host time per call (no synchronise between calls) and device time per call of a few ops at the
 * released 3B model's shapes, to tell a host-bound step's cost apart (scripts/parity/gpu_op_probe.py is its PyTorch twin).
 * Each op is timed in {@link #ROUNDS} rounds, one line each: the first rounds include the JIT compiling the call path
 * (a first probe took 20 warm-up calls only and measured that), the last is the steady state. Args: device (cuda, the
 * default, or cpu to try the probe where there is no GPU).
 */
public final class GpuOpProbe {
    public static void main(String[] args) {
        device = args.length > 0 ? Device.parse(args[0]) : Device.cuda(0);
        Device cuda = device;
        long l = 1024;
        try (Scope s = Scope.open()) {
            Tensor q = Tensor.randn(new long[] {1, 24, l, 128}, DType.BFLOAT16, cuda).requiresGrad(true);
            Tensor k = Tensor.randn(new long[] {1, 8, l, 128}, DType.BFLOAT16, cuda).requiresGrad(true);
            Tensor v = Tensor.randn(new long[] {1, 8, l, 128}, DType.BFLOAT16, cuda).requiresGrad(true);
            Tensor x = Tensor.randn(new long[] {l, 3072}, DType.BFLOAT16, cuda);
            Tensor a = Tensor.randn(new long[] {16, 3072}, DType.FLOAT32, cuda).requiresGrad(true);
            Tensor small = Tensor.randn(new long[] {16}, DType.FLOAT32, cuda);
            time("add of two 16-element tensors", 2000, () -> small.add(small).close());
            time("sdpa causal, grouped-query (enable_gqa)", 200, () -> Tensor.scaledDotProductAttention(q, k, v, null, 0.0, true, null).close());
            time("sdpa causal, key/value expanded to 24 heads", 200, () -> {
                try (Scope t = Scope.open()) {
                    Tensor ke = k.unsqueeze(2).expand(1, 8, 3, l, 128).reshape(1, 24, l, 128);
                    Tensor ve = v.unsqueeze(2).expand(1, 8, 3, l, 128).reshape(1, 24, l, 128);
                    Tensor.scaledDotProductAttention(q, ke, ve, null, 0.0, true, null);
                }
            });
            time("LoRA A: x.to(fp32).linear(A)", 500, () -> {
                try (Scope t = Scope.open()) {
                    x.to(DType.FLOAT32).linear(a);
                }
            });
        }
    }

    static final int ROUNDS = 5;
    private static Device device;

    static void time(String what, int n, Runnable op) {
        for (int round = 1; round <= ROUNDS; round++) {
            sync();
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) op.run();
            long t1 = System.nanoTime();
            sync();
            long t2 = System.nanoTime();
            System.out.printf("java %s, round %d of %d: host %.1f us per call, until done %.1f us per call%n", what, round, ROUNDS,
                    (t1 - t0) / 1e3 / n, (t2 - t0) / 1e3 / n);
        }
    }

    private static void sync() {
        if (device.type() == Device.Type.CUDA) Torch.cudaSynchronize(Math.max(device.index(), 0));
    }
}
