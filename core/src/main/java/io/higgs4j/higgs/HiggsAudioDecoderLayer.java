package io.higgs4j.higgs;

import io.higgs4j.nn.Init;
import io.higgs4j.nn.Module;
import io.higgs4j.nn.RMSNorm;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/**
 * One decoder layer. Three kinds, as in the reference: a dual-FFN layer (audio positions use the audio norms and
 * audio MLP, text positions the ordinary ones; attention is shared), a plain Llama layer, and the fast-forward
 * variant of dual_ffn_fast_forward (a Llama layer through which audio positions pass unchanged, hidden from the
 * text tokens' attention).
 */
public final class HiggsAudioDecoderLayer extends Module {

    public enum Kind { DUAL_FFN, PLAIN, FAST_FORWARD }

    public final Kind kind;
    public final LlamaAttention selfAttn;
    public final LlamaMLP mlp;
    public final RMSNorm inputLayernorm, postAttentionLayernorm;
    public final LlamaMLP audioMlp;
    public final RMSNorm audioInputLayernorm, audioPostAttentionLayernorm;

    public HiggsAudioDecoderLayer(HiggsAudioConfig config, int index, Init init) {
        HiggsAudioConfig.LlamaConfig c = config.textConfig();
        kind = config.isDualFfnLayer(index) ? Kind.DUAL_FFN : config.isFastForwardLayer(index) ? Kind.FAST_FORWARD : Kind.PLAIN;
        selfAttn = child("self_attn", new LlamaAttention(c, init));
        mlp = child("mlp", new LlamaMLP(c.hiddenSize(), c.intermediateSize(), init));
        if (kind == Kind.DUAL_FFN) {
            audioMlp = child("audio_mlp", new LlamaMLP(c.hiddenSize(), config.audioFfnIntermediateSize(), init));
            audioInputLayernorm = child("audio_input_layernorm", new RMSNorm(c.hiddenSize(), c.rmsNormEps(), init));
            audioPostAttentionLayernorm = child("audio_post_attention_layernorm", new RMSNorm(c.hiddenSize(), c.rmsNormEps(), init));
        } else {
            audioMlp = null;
            audioInputLayernorm = null;
            audioPostAttentionLayernorm = null;
        }
        inputLayernorm = child("input_layernorm", new RMSNorm(c.hiddenSize(), c.rmsNormEps(), init));
        postAttentionLayernorm = child("post_attention_layernorm", new RMSNorm(c.hiddenSize(), c.rmsNormEps(), init));
    }

    /**
     * Per-forward state shared by every layer: RoPE tables (cos, and sin with its first half negated, as
     * LlamaRotaryEmbedding.cosSin gives them), masks, and where the audio positions are.
     */
    public record Context(Tensor cos, Tensor sin, Tensor attentionMask, Tensor fastForwardMask,
                          Tensor audioMask, Tensor audioIndex, Tensor textIndex) {
        boolean hasAudio() { return audioIndex != null; }
    }

    /** The layer's training forward over the merged sequence h [B, M, H], without a cache. */
    public Tensor forward(Tensor h, Context ctx) {
        return forward(h, ctx, null);
    }

    /**
     * With a cache (empty, batch 1): the prompt's forward, storing its keys and values (a fast-forward layer stores its
     * text positions only, the ones its attention ever reads).
     */
    public Tensor forward(Tensor h, Context ctx, KvCache.Layer cache) {
        try (Scope s = Scope.open()) {
            Tensor out = switch (kind) {
                case PLAIN -> llamaLayer(h, ctx.cos(), ctx.sin(), ctx.attentionMask(), cache, null);
                case FAST_FORWARD -> ctx.hasAudio()
                        ? Tensor.where(ctx.audioMask().unsqueeze(-1), h,
                                llamaLayer(h, ctx.cos(), ctx.sin(), ctx.fastForwardMask(), cache, ctx.textIndex()))
                        : llamaLayer(h, ctx.cos(), ctx.sin(), ctx.attentionMask(), cache, null);
                case DUAL_FFN -> ctx.hasAudio() ? dualLayer(h, ctx, cache)
                        : llamaLayer(h, ctx.cos(), ctx.sin(), ctx.attentionMask(), cache, null);
            };
            return Scope.keep(out);
        }
    }

    /**
     * Which positions a caller reads of a layer's output (training's last layer: only those a head reads): per batch row
     * n positions, a row with fewer repeating one of its own (that slot's output is discarded). flat [B n] indexes the
     * flattened [B L] positions; mask [B, 1, n, L] bool is where each kept position's query may look (causal, and not
     * at padding); audio and text [*] index the B n kept slots by kind (every slot in exactly one).
     */
    public record Kept(long n, Tensor flat, Tensor mask, Tensor audio, Tensor text) {}

    /** Whether {@link #forwardKept} can run this layer (a fast-forward layer hides audio from text and is not cut). */
    public boolean canCut() {
        return kind != Kind.FAST_FORWARD;
    }

    /**
     * The layer's output at the kept positions only, [B, n, hidden]: equal to forward(h, ctx) gathered there (up to
     * the rounding of a masked against a causal attention kernel). Keys and values still come from every position;
     * the queries, output projection and MLPs run on the kept rows.
     */
    public Tensor forwardKept(Tensor h, Context ctx, Kept kept) {
        if (!canCut()) throw new IllegalStateException("a fast-forward layer runs whole");
        try (Scope s = Scope.open()) {
            long b = h.size(0), hidden = h.size(2), n = kept.n(), d = ctx.cos().size(-1);
            boolean dual = kind == Kind.DUAL_FFN && ctx.hasAudio();
            Tensor normed = dual ? dualInputNorm(h, ctx) : inputLayernorm.forward(h);
            Tensor attn = selfAttn.forwardQueries(normed, atKept(normed, kept).view(b, n, hidden), ctx.cos(), ctx.sin(),
                    atKept(ctx.cos(), kept).view(b, n, d), atKept(ctx.sin(), kept).view(b, n, d), kept.mask());
            Tensor attended = atKept(h, kept).add(attn.reshape(b * n, hidden));
            Tensor out = dual ? addMlps(attended, kept.audio(), kept.text())
                    : attended.add(mlp.forward(postAttentionLayernorm.forward(attended)));
            return Scope.keep(out.view(b, n, hidden));
        }
    }

    /** t [B, L, X] at the kept positions: [B n, X]. */
    private static Tensor atKept(Tensor t, Kept kept) {
        return t.reshape(t.size(0) * t.size(1), t.size(2)).indexSelect(0, kept.flat());
    }

    /**
     * One new position h [1, 1, hidden] after the cached ones: an audio-out position takes the audio norms and MLP of
     * a dual-FFN layer and passes a fast-forward layer unchanged (which then stores nothing).
     */
    public Tensor step(Tensor h, Tensor cos, Tensor sin, boolean audio, KvCache.Layer cache) {
        if (kind == Kind.FAST_FORWARD && audio) return h.share();
        try (Scope s = Scope.open()) {
            if (kind != Kind.DUAL_FFN || !audio) return Scope.keep(llamaLayer(h, cos, sin, null, cache, null));
            Tensor attended = h.add(selfAttn.forward(audioInputLayernorm.forward(h), cos, sin, null, cache, null));
            return Scope.keep(attended.add(audioMlp.forward(audioPostAttentionLayernorm.forward(attended))));
        }
    }

    private Tensor llamaLayer(Tensor h, Tensor cos, Tensor sin, Tensor mask, KvCache.Layer cache, Tensor keep) {
        Tensor attended = h.add(selfAttn.forward(inputLayernorm.forward(h), cos, sin, mask, cache, keep));
        return attended.add(mlp.forward(postAttentionLayernorm.forward(attended)));
    }

    /**
     * Audio positions take the audio norms and MLP. The MLPs run only on their own positions (gathered by index and
     * added back in place of a residual add), so the layer costs what one Llama layer costs, as in the reference.
     */
    private Tensor dualLayer(Tensor h, Context ctx, KvCache.Layer cache) {
        Tensor attended = h.add(selfAttn.forward(dualInputNorm(h, ctx), ctx.cos(), ctx.sin(), ctx.attentionMask(), cache, null));
        long b = h.size(0), l = h.size(1), hidden = h.size(2);
        return addMlps(attended.reshape(b * l, hidden), ctx.audioIndex(), ctx.textIndex()).view(b, l, hidden);
    }

    /**
     * rows [N, hidden] plus each row's MLP output: the audio norm and MLP on the rows in audio, the text ones on the rows
     * in text (every row in exactly one). Scatter-added, which adds what a zero-filled delta scattered from both would,
     * element for element, without building the delta.
     */
    private Tensor addMlps(Tensor rows, Tensor audio, Tensor text) {
        long hidden = rows.size(1);
        Tensor out = rows;
        if (audio.numel() > 0) {
            Tensor audioOut = audioMlp.forward(audioPostAttentionLayernorm.forward(rows.indexSelect(0, audio)));
            out = out.scatterAdd(0, audio.unsqueeze(1).expand(audioOut.size(0), hidden), audioOut);
        }
        if (text.numel() > 0) {
            Tensor textOut = mlp.forward(postAttentionLayernorm.forward(rows.indexSelect(0, text)));
            out = out.scatterAdd(0, text.unsqueeze(1).expand(textOut.size(0), hidden), textOut);
        }
        return out;
    }

    /**
     * where(audio, audio_input_layernorm(h), input_layernorm(h)), as the reference computes it, with the normalisation
     * (the same for both norms when their eps agree) done once and only the weight chosen per position.
     */
    private Tensor dualInputNorm(Tensor h, Context ctx) {
        if (audioInputLayernorm.eps != inputLayernorm.eps) {
            return Tensor.where(ctx.audioMask().unsqueeze(-1), audioInputLayernorm.forward(h), inputLayernorm.forward(h));
        }
        Tensor weight = Tensor.where(ctx.audioMask().unsqueeze(-1), audioInputLayernorm.weight(), inputLayernorm.weight());
        return inputLayernorm.normalize(h).mul(weight);
    }
}
