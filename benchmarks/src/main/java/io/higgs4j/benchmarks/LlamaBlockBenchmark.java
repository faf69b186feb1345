package io.higgs4j.benchmarks;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.higgs4j.benchmarks.LlamaBlockData.HEADS;
import static io.higgs4j.benchmarks.LlamaBlockData.HEAD_DIM;
import static io.higgs4j.benchmarks.LlamaBlockData.HIDDEN;
import static io.higgs4j.benchmarks.LlamaBlockData.KV_HEADS;
import static io.higgs4j.benchmarks.LlamaBlockData.RMS_EPS;

/**
 * Forward + backward of one pre-norm Llama decoder layer (the {@code small} config's dimensions, see
 * {@link LlamaBlockData}) in float32 on CPU, batch 1, written with higgs4j's tensor API:
 * <pre>
 * a   = rms_norm(x, w_in)
 * q, k, v = linear(a, Wq|Wk|Wv), viewed [1, heads, L, 64]; q, k = rope(q), rope(k)   (rotate_half by halves)
 * h   = x + linear(sdpa(q, k, v, is_causal, enable_gqa) -> [1, L, 512], Wo)
 * m   = rms_norm(h, w_post)
 * out = h + linear(silu(linear(m, Wgate)) * linear(m, Wup), Wdown)
 * loss = out.mean(); loss.backward()
 * </pre>
 * All nine weights require grad; their gradients are dropped (set to undefined, like {@code grad = None}) after each
 * op, and every intermediate tensor of the op is freed by the op's {@link Scope}.
 *
 * <p>{@link JavaCppLlamaBlockBenchmark} is the same op sequence through JavaCPP's PyTorch API, in its own fork.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(org.openjdk.jmh.annotations.Scope.Thread)
public class LlamaBlockBenchmark {

    /** Sequence length (batch 1); 128 and 512 work too. */
    @Param({"256"})
    public int seqLen;

    private Tensor x, cos, sin, inNorm, postNorm;
    private Tensor[] linears;
    private Tensor[] params;

    @Setup(Level.Trial)
    public void setUp() {
        x = Tensor.of(LlamaBlockData.input(seqLen), 1, seqLen, HIDDEN);
        float[][] rope = LlamaBlockData.rope(seqLen);
        cos = Tensor.of(rope[0], seqLen, HEAD_DIM);
        sin = Tensor.of(rope[1], seqLen, HEAD_DIM);
        linears = new Tensor[LlamaBlockData.LINEARS.length];
        for (int i = 0; i < linears.length; i++) {
            linears[i] = Tensor.of(LlamaBlockData.linearWeight(i), LlamaBlockData.linearShape(i)).requiresGrad(true);
        }
        inNorm = Tensor.of(LlamaBlockData.normWeight(0), HIDDEN).requiresGrad(true);
        postNorm = Tensor.of(LlamaBlockData.normWeight(1), HIDDEN).requiresGrad(true);
        params = new Tensor[linears.length + 2];
        System.arraycopy(linears, 0, params, 0, linears.length);
        params[linears.length] = inNorm;
        params[linears.length + 1] = postNorm;

        // The cross-check with the JavaCPP side: the loss and each gradient's sum of squares after one op.
        StringBuilder grads = new StringBuilder();
        double loss;
        try (Scope s = Scope.open()) {
            Tensor l = loss();
            l.backward();
            loss = l.item();
            for (Tensor p : params) {
                Tensor g = p.grad();
                grads.append(String.format(" %.6e", g.mul(g).sum().item()));
            }
        }
        for (Tensor p : params) {
            p.resetGrad();
            if (p.grad() != null) throw new IllegalStateException("resetGrad() left a gradient");
        }
        System.out.printf("# higgs4j llama block, seqLen %d, %d intra-op threads: loss %.9g%n# grad sums of squares"
                + " (q k v o gate up down in_norm post_norm):%s%n", seqLen, Torch.numThreads(), loss, grads);
        OneLibTorch.check();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (Tensor t : params) t.close();
        x.close();
        cos.close();
        sin.close();
        if (Tensor.leakedCount() != 0) throw new IllegalStateException(Tensor.leakedCount() + " tensors leaked");
    }

    /** x * cos + rotate_half(x) * sin, with rotate_half(x) = cat(-x[..., 32:], x[..., :32]). */
    private Tensor rope(Tensor t) {
        int half = HEAD_DIM / 2;
        Tensor rotated = Tensor.cat(List.of(t.narrow(3, half, half).neg(), t.narrow(3, 0, half)), 3);
        return t.mul(cos).add(rotated.mul(sin));
    }

    /** The forward pass and the loss; every tensor it makes belongs to the caller's scope. */
    private Tensor loss() {
        long[] norm = {HIDDEN};
        Tensor a = x.rmsNorm(norm, inNorm, RMS_EPS);
        Tensor q = a.linear(linears[0]).view(1, seqLen, HEADS, HEAD_DIM).transpose(1, 2);
        Tensor k = a.linear(linears[1]).view(1, seqLen, KV_HEADS, HEAD_DIM).transpose(1, 2);
        Tensor v = a.linear(linears[2]).view(1, seqLen, KV_HEADS, HEAD_DIM).transpose(1, 2);
        Tensor attn = Tensor.scaledDotProductAttention(rope(q), rope(k), v, null, 0.0, true, null);
        Tensor h = x.add(attn.transpose(1, 2).reshape(1, seqLen, HIDDEN).linear(linears[3]));
        Tensor m = h.rmsNorm(norm, postNorm, RMS_EPS);
        Tensor mlp = m.linear(linears[4]).silu().mul(m.linear(linears[5])).linear(linears[6]);
        return h.add(mlp).mean();
    }

    @Benchmark
    public double forwardBackward() {
        try (Scope s = Scope.open()) {
            Tensor l = loss();
            l.backward();
            for (Tensor p : params) p.resetGrad();
            return l.item();
        }
    }
}
