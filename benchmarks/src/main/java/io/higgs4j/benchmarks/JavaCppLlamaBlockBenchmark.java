package io.higgs4j.benchmarks;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

import static io.higgs4j.benchmarks.LlamaBlockData.HEADS;
import static io.higgs4j.benchmarks.LlamaBlockData.HEAD_DIM;
import static io.higgs4j.benchmarks.LlamaBlockData.HIDDEN;
import static io.higgs4j.benchmarks.LlamaBlockData.KV_HEADS;
import static io.higgs4j.benchmarks.LlamaBlockData.RMS_EPS;

/**
 * {@link LlamaBlockBenchmark}'s op, the same libtorch calls in the same order, through JavaCPP's PyTorch Java API
 * (org.bytedeco:pytorch 2.10.0-1.5.13): fused {@code torch.rms_norm}, {@code torch.linear},
 * {@code torch.scaled_dot_product_attention(..., is_causal = true, enable_gqa = true)}, RoPE from narrow / neg /
 * cat / mul / add, {@code torch.silu}, {@code mean()}, {@code backward()}.
 *
 * <p>Memory is handled as a careful JavaCPP user would: each op runs in a {@link PointerScope}, which every
 * {@code Pointer} made on this thread while it is open (each returned tensor, each {@code TensorOptional},
 * {@code DoubleOptional} and {@code TensorVector}) attaches itself to, and which deallocates them all when it closes.
 * Gradients are dropped after each op with {@code mutable_grad().reset()} (the C++ spelling of {@code grad = None}).
 * JavaCPP's defaults (its RSS check included) are left as they are.
 *
 * <p>Touches no higgs4j class: this fork loads JavaCPP's copy of libtorch only.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class JavaCppLlamaBlockBenchmark {

    /** Sequence length (batch 1); 128 and 512 work too. */
    @Param({"256"})
    public int seqLen;

    private Tensor x, cos, sin, inNorm, postNorm;
    private Tensor[] linears;
    private Tensor[] params;

    @Setup(Level.Trial)
    public void setUp() {
        x = Tensor.create(LlamaBlockData.input(seqLen), 1, seqLen, HIDDEN);
        float[][] rope = LlamaBlockData.rope(seqLen);
        cos = Tensor.create(rope[0], seqLen, HEAD_DIM);
        sin = Tensor.create(rope[1], seqLen, HEAD_DIM);
        linears = new Tensor[LlamaBlockData.LINEARS.length];
        for (int i = 0; i < linears.length; i++) {
            linears[i] = Tensor.create(LlamaBlockData.linearWeight(i), LlamaBlockData.linearShape(i));
            linears[i].set_requires_grad(true);
        }
        inNorm = Tensor.create(LlamaBlockData.normWeight(0), HIDDEN);
        inNorm.set_requires_grad(true);
        postNorm = Tensor.create(LlamaBlockData.normWeight(1), HIDDEN);
        postNorm.set_requires_grad(true);
        params = new Tensor[linears.length + 2];
        System.arraycopy(linears, 0, params, 0, linears.length);
        params[linears.length] = inNorm;
        params[linears.length + 1] = postNorm;

        // The cross-check with the higgs4j side: the loss and each gradient's sum of squares after one op.
        StringBuilder grads = new StringBuilder();
        double loss;
        try (PointerScope s = new PointerScope()) {
            Tensor l = loss();
            l.backward();
            loss = l.item_float();
            for (Tensor p : params) {
                Tensor g = p.grad();
                grads.append(String.format(" %.6e", (double) g.mul(g).sum().item_float()));
            }
            for (Tensor p : params) p.mutable_grad().reset();
            for (Tensor p : params) {
                if (p.grad().defined()) throw new IllegalStateException("mutable_grad().reset() left a gradient");
            }
        }
        System.out.printf("# JavaCPP llama block, seqLen %d, %d intra-op threads: loss %.9g%n# grad sums of squares"
                + " (q k v o gate up down in_norm post_norm):%s%n", seqLen, torch.get_num_threads(), loss, grads);
        OneLibTorch.check();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (Tensor t : params) t.close();
        x.close();
        cos.close();
        sin.close();
    }

    /** x * cos + rotate_half(x) * sin, with rotate_half(x) = cat(-x[..., 32:], x[..., :32]). */
    private Tensor rope(Tensor t) {
        int half = HEAD_DIM / 2;
        Tensor rotated = torch.cat(new TensorVector(t.narrow(3, half, half).neg(), t.narrow(3, 0, half)), 3);
        return t.mul(cos).add(rotated.mul(sin));
    }

    /** The forward pass and the loss; every tensor it makes belongs to the caller's PointerScope. */
    private Tensor loss() {
        long[] norm = {HIDDEN};
        Tensor a = torch.rms_norm(x, norm, new TensorOptional(inNorm), new DoubleOptional(RMS_EPS));
        Tensor q = torch.linear(a, linears[0]).view(1, seqLen, HEADS, HEAD_DIM).transpose(1, 2);
        Tensor k = torch.linear(a, linears[1]).view(1, seqLen, KV_HEADS, HEAD_DIM).transpose(1, 2);
        Tensor v = torch.linear(a, linears[2]).view(1, seqLen, KV_HEADS, HEAD_DIM).transpose(1, 2);
        Tensor attn = torch.scaled_dot_product_attention(rope(q), rope(k), v, new TensorOptional(), 0.0, true,
                new DoubleOptional(), true);
        Tensor h = x.add(torch.linear(attn.transpose(1, 2).reshape(1, seqLen, HIDDEN), linears[3]));
        Tensor m = torch.rms_norm(h, norm, new TensorOptional(postNorm), new DoubleOptional(RMS_EPS));
        Tensor mlp = torch.linear(torch.silu(torch.linear(m, linears[4])).mul(torch.linear(m, linears[5])), linears[6]);
        return h.add(mlp).mean();
    }

    @Benchmark
    public double forwardBackward() {
        try (PointerScope s = new PointerScope()) {
            Tensor l = loss();
            l.backward();
            for (Tensor p : params) p.mutable_grad().reset();
            return l.item_float();
        }
    }
}
