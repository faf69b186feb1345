package io.higgs4j.higgs;

import io.higgs4j.nn.Init;
import io.higgs4j.nn.LayerNorm;
import io.higgs4j.nn.Linear;
import io.higgs4j.nn.Module;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/**
 * One Hugging Face WhisperEncoderLayer (pre-LN): x = x + out_proj(attn(self_attn_layer_norm(x))), then
 * x = x + fc2(gelu(fc1(final_layer_norm(x)))). Children, as the checkpoint names them: {@code self_attn}
 * ({@code q_proj}, {@code k_proj} without bias, {@code v_proj}, {@code out_proj}), {@code self_attn_layer_norm},
 * {@code fc1}, {@code fc2}, {@code final_layer_norm}. Dropouts are 0 in Whisper's encoder and left out.
 */
public final class WhisperEncoderLayer extends Module {
    public final Attention selfAttn;
    public final LayerNorm selfAttnLayerNorm, finalLayerNorm;
    public final Linear fc1, fc2;

    public WhisperEncoderLayer(WhisperEncoderConfig c, Init init) {
        selfAttn = child("self_attn", new Attention(c, init));
        selfAttnLayerNorm = child("self_attn_layer_norm", new LayerNorm(c.dModel(), c.layerNormEps(), init));
        fc1 = child("fc1", new Linear(c.dModel(), c.encoderFfnDim(), true, init));
        fc2 = child("fc2", new Linear(c.encoderFfnDim(), c.dModel(), true, init));
        finalLayerNorm = child("final_layer_norm", new LayerNorm(c.dModel(), c.layerNormEps(), init));
    }

    /** x [B, T, d]; keyMask null (attend everywhere) or bool [B, 1, 1, T], true where a key may be attended. */
    public Tensor forward(Tensor x, Tensor keyMask) {
        try (Scope s = Scope.open()) {
            Tensor h = x.add(selfAttn.forward(selfAttnLayerNorm.forward(x), keyMask));
            Tensor f = fc2.forward(fc1.forward(finalLayerNorm.forward(h)).gelu());
            return Scope.keep(h.add(f));
        }
    }

    /** Whisper's bidirectional multi-head self-attention: scaled dot product (1/sqrt(head_dim)), no causal mask. */
    public static final class Attention extends Module {
        public final Linear qProj, kProj, vProj, outProj;
        private final int heads;
        private final long headDim;

        Attention(WhisperEncoderConfig c, Init init) {
            heads = c.encoderAttentionHeads();
            headDim = c.headDim();
            // Hugging Face's registration order (k, v, q, out); k_proj has no bias.
            kProj = child("k_proj", new Linear(c.dModel(), c.dModel(), false, init));
            vProj = child("v_proj", new Linear(c.dModel(), c.dModel(), true, init));
            qProj = child("q_proj", new Linear(c.dModel(), c.dModel(), true, init));
            outProj = child("out_proj", new Linear(c.dModel(), c.dModel(), true, init));
        }

        public Tensor forward(Tensor x, Tensor keyMask) {
            try (Scope s = Scope.open()) {
                long b = x.size(0), t = x.size(1);
                Tensor q = qProj.forward(x).view(b, t, heads, headDim).transpose(1, 2);
                Tensor k = kProj.forward(x).view(b, t, heads, headDim).transpose(1, 2);
                Tensor v = vProj.forward(x).view(b, t, heads, headDim).transpose(1, 2);
                Tensor out = Tensor.scaledDotProductAttention(q, k, v, keyMask, 0.0, false, null);
                return Scope.keep(outProj.forward(out.transpose(1, 2).reshape(b, t, heads * headDim)));
            }
        }
    }
}
