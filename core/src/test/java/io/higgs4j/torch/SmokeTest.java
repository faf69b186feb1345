package io.higgs4j.torch;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

class SmokeTest {
    static void p(String name, Tensor t) { System.out.println(name + " = " + t); }

    @Test
    void everything() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
            Tensor b = Tensor.of(new float[] {1, 0, 1, 0, 1, 0}, 3, 2);
            p("matmul", a.matmul(b));
            p("add", a.add(a)); p("add s", a.add(1.5)); p("sub", a.sub(2)); p("mul", a.mul(2)); p("div", a.div(2));
            p("pow", a.pow(2)); p("sqrt", a.sqrt()); p("rsqrt", a.rsqrt()); p("exp", a.exp()); p("log", a.log());
            p("sum", a.sum()); p("sum1", a.sum(1, false)); p("mean", a.mean()); p("mean0", a.mean(0, true));
            p("max", a.max()); p("maxdim", a.max(1, false).get(0)); p("argmax", a.argmax(1, false)); p("argmaxall", a.argmax());
            p("softmax", a.softmax(-1)); p("logsoftmax", a.logSoftmax(-1)); p("silu", a.silu()); p("gelu", a.gelu()); p("gelu tanh", a.gelu(true));
            p("view", a.view(3, 2)); p("reshape", a.reshape(-1)); p("transpose", a.transpose(0, 1)); p("permute", a.permute(1, 0));
            p("slice", a.slice(1, 1, 3)); p("narrow", a.narrow(1, 0, 2)); p("unsqueeze", a.unsqueeze(0)); p("squeeze", a.unsqueeze(0).squeeze(0));
            p("expand", Tensor.of(new float[] {1, 2, 3}, 1, 3).expand(2, 3)); p("contig", a.transpose(0, 1).contiguous());
            Tensor idx = Tensor.of(new long[] {2, 0});
            p("embedding", Tensor.embedding(b, idx)); p("cat", Tensor.cat(List.of(a, a), 0)); p("stack", Tensor.stack(List.of(a, a), 0));
            p("split", a.split(2, 1).get(1)); p("chunk", a.chunk(3, 1).get(2)); p("index_select", a.indexSelect(1, idx));
            p("gather", a.gather(1, Tensor.of(new long[] {0, 1, 2, 2, 1, 0}, 2, 3)));
            p("masked_fill", a.maskedFill(a.gt(3), -1)); p("where", Tensor.where(a.gt(3), a, a.neg()));
            p("triu", a.triu(0)); p("tril", a.tril(0));
            p("ce", a.crossEntropy(Tensor.of(new long[] {2, -100}), -100));
            Tensor q = Tensor.randn(1, 4, 5, 8), k = Tensor.randn(1, 2, 5, 8);
            p("sdpa", Tensor.scaledDotProductAttention(q, k, k, null, 0, true, null).sum());
            p("sdpa mask", Tensor.scaledDotProductAttention(q, k, k, Tensor.zeros(5, 5), 0, false, 0.5).sum());
            p("dropout", a.dropout(0.5, true)); p("bf16", a.to(DType.BFLOAT16)); p("to cpu", a.to(Device.CPU, DType.FLOAT64));
            p("clone", a.clone()); p("copy_", Tensor.zeros(2, 3).copy_(a)); p("clamp", a.clamp(2, 4));
            p("zeros", Tensor.zeros(2)); p("ones", Tensor.ones(new long[] {2}, DType.INT64, Device.CPU)); p("full", Tensor.full(new long[] {2}, 7, DType.FLOAT32, Device.CPU));
            p("arange", Tensor.arange(5)); p("rand", Tensor.rand(3)); p("randn", Tensor.randn(3));
            p("rms", a.rmsNorm(new long[] {3}, null, 1e-6)); p("linear", a.linear(Tensor.ones(4, 3), Tensor.zeros(4)));
            System.out.println(a.sum().item() + "?");
        } catch (Exception e) { e.printStackTrace(); }
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.of(new float[] {1, 2}).requiresGrad(true);
            Tensor y = a.mul(a).sum();
            y.backward(true);
            p("grad", a.grad()); a.zeroGrad(); p("grad0", a.grad()); a.resetGrad(); System.out.println("reset " + a.grad());
            System.out.println(a.requiresGrad() + " " + y.requiresGrad());
            Torch.manualSeed(42); p("seeded", Tensor.randn(5));
        }
    }
}
