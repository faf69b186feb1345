package io.higgs4j.higgs;

import io.higgs4j.nn.Init;
import io.higgs4j.nn.Linear;
import io.higgs4j.nn.Module;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/** Llama self-attention: q/k/v/o without bias, grouped-query heads, RoPE on q and k, an additive mask. */
public final class LlamaAttention extends Module {
    public final Linear qProj, kProj, vProj, oProj;
    private final int heads, kvHeads;
    private final long headDim;

    public LlamaAttention(HiggsAudioConfig.LlamaConfig c, Init init) {
        heads = c.numAttentionHeads();
        kvHeads = c.numKeyValueHeads();
        headDim = c.headDim();
        qProj = child("q_proj", new Linear(c.hiddenSize(), heads * headDim, false, init));
        kProj = child("k_proj", new Linear(c.hiddenSize(), kvHeads * headDim, false, init));
        vProj = child("v_proj", new Linear(c.hiddenSize(), kvHeads * headDim, false, init));
        oProj = child("o_proj", new Linear(heads * headDim, c.hiddenSize(), false, init));
    }

    /** x [B, L, hidden]; cos/sin [B, L, head_dim]; mask additive [B, 1, L, L], or null for plain causal attention. */
    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor mask) {
        return forward(x, cos, sin, mask, null, null);
    }

    /**
     * With a cache (batch 1): on an empty cache (the prompt), attends as {@link #forward(Tensor, Tensor, Tensor, Tensor)}
     * and stores the rotated keys and values of the positions in keep (all when null); on a filled cache, x is one new
     * position, whose key and value are appended and whose query attends to every cached position (no mask needed:
     * everything cached precedes it).
     */
    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, KvCache.Layer cache, Tensor keep) {
        try (Scope s = Scope.open()) {
            long b = x.size(0), l = x.size(1);
            Tensor q = LlamaRotaryEmbedding.apply(project(qProj, x, heads), cos, sin);
            Tensor k = LlamaRotaryEmbedding.apply(project(kProj, x, kvHeads), cos, sin);
            Tensor v = project(vProj, x, kvHeads);
            Tensor out;
            // no mask over several positions: plain causal attention, which the kernels do without a [L, L] mask
            boolean causal = mask == null && l > 1;
            if (cache == null) {
                out = Tensor.scaledDotProductAttention(q, k, v, mask, 0.0, causal, null);
            } else if (cache.length() == 0) {
                out = Tensor.scaledDotProductAttention(q, k, v, mask, 0.0, causal, null);
                cache.append(keep == null ? k : k.indexSelect(2, keep), keep == null ? v : v.indexSelect(2, keep));
            } else {
                if (b != 1 || l != 1) throw new IllegalArgumentException("a cached decode step takes one position, got " + x);
                cache.append(k, v);
                out = Tensor.scaledDotProductAttention(q, cache.keys(), cache.values(), null, 0.0, false, null);
            }
            return Scope.keep(merge(out));
        }
    }

    /** proj(x) for x [B, L, hidden], split into n heads: [B, n, L, head_dim]. */
    private Tensor project(Linear proj, Tensor x, int n) {
        return proj.forward(x).view(x.size(0), x.size(1), n, headDim).transpose(1, 2);
    }

    /** The output projection of attention's result [B, heads, L, head_dim]: [B, L, hidden]. */
    private Tensor merge(Tensor out) {
        return oProj.forward(out.transpose(1, 2).reshape(out.size(0), out.size(2), heads * headDim));
    }

    /** [B, kvHeads, L, D] to [B, heads, L, D], each key/value head once per query head of its group. */
    private Tensor repeatHeads(Tensor t) {
        if (kvHeads == heads) return t;
        long b = t.size(0), l = t.size(2);
        return t.unsqueeze(2).expand(b, kvHeads, heads / kvHeads, l, headDim).reshape(b, heads, l, headDim);
    }

    /**
     * Attention for some queries over every key: x [B, L, hidden] gives the keys and values (rotated by cos/sin [B, L,
     * head_dim]), xq [B, N, hidden] the queries (rotated by cosQ/sinQ [B, N, head_dim], their positions' tables); mask
     * [B, 1, N, L] bool, true where a query may look. [B, N, hidden].
     */
    public Tensor forwardQueries(Tensor x, Tensor xq, Tensor cos, Tensor sin, Tensor cosQ, Tensor sinQ, Tensor mask) {
        try (Scope s = Scope.open()) {
            Tensor q = LlamaRotaryEmbedding.apply(project(qProj, xq, heads), cosQ, sinQ);
            Tensor k = LlamaRotaryEmbedding.apply(project(kProj, x, kvHeads), cos, sin);
            Tensor v = project(vProj, x, kvHeads);
            // each key/value head repeated for its query heads: with a mask, CUDA's attention kernels that take one
            // (memory-efficient) do not take grouped heads, and grouped heads would fall back to the math kernel
            Tensor out = Tensor.scaledDotProductAttention(q, repeatHeads(k), repeatHeads(v), mask, 0.0, false, null);
            return Scope.keep(merge(out));
        }
    }
}
