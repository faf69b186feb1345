"""PyTorch twin of the benchmarks' io.higgs4j.benchmarks.GpuOpProbe: host time per call (no synchronise between calls) and time until
done per call, for the same ops at the released 3B model's shapes, on cuda:0."""
import time
import torch
import torch.nn.functional as F

dev = torch.device("cuda:0")
L = 1024


ROUNDS = 5  # as GpuOpProbe, whose first rounds include the JIT's warm-up: compare the last rounds


def probe(what, n, op):
    for r in range(1, ROUNDS + 1):
        torch.cuda.synchronize(dev); t0 = time.perf_counter()
        for _ in range(n): op()
        t1 = time.perf_counter(); torch.cuda.synchronize(dev); t2 = time.perf_counter()
        print(f"python {what}, round {r} of {ROUNDS}: host {(t1 - t0) / n * 1e6:.1f} us per call, until done {(t2 - t0) / n * 1e6:.1f} us per call", flush=True)


q = torch.randn(1, 24, L, 128, dtype=torch.bfloat16, device=dev, requires_grad=True)
k = torch.randn(1, 8, L, 128, dtype=torch.bfloat16, device=dev, requires_grad=True)
v = torch.randn(1, 8, L, 128, dtype=torch.bfloat16, device=dev, requires_grad=True)
x = torch.randn(L, 3072, dtype=torch.bfloat16, device=dev)
a = torch.randn(16, 3072, device=dev, requires_grad=True)
small = torch.randn(16, device=dev)
probe("add of two 16-element tensors", 2000, lambda: small + small)
probe("sdpa causal, grouped-query (enable_gqa)", 200, lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True))
probe("sdpa causal, key/value expanded to 24 heads", 200, lambda: F.scaled_dot_product_attention(
    q, k.unsqueeze(2).expand(1, 8, 3, L, 128).reshape(1, 24, L, 128), v.unsqueeze(2).expand(1, 8, 3, L, 128).reshape(1, 24, L, 128), is_causal=True))
probe("LoRA A: x.to(fp32).linear(A)", 500, lambda: F.linear(x.float(), a))
