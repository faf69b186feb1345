package io.higgs4j.higgs;

import io.higgs4j.nn.Init;
import io.higgs4j.nn.LayerNorm;
import io.higgs4j.nn.Linear;
import io.higgs4j.nn.Module;
import io.higgs4j.nn.MultiHeadSelfAttention;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/**
 * One Hugging Face WhisperEncoderLayer (pre-LN): x = x + out_proj(attn(self_attn_layer_norm(x))), then
 * x = x + fc2(gelu(fc1(final_layer_norm(x)))). Children, as the checkpoint names them: {@code self_attn}
 * ({@code q_proj}, {@code k_proj} without bias, {@code v_proj}, {@code out_proj}), {@code self_attn_layer_norm},
 * {@code fc1}, {@code fc2}, {@code final_layer_norm}. Dropouts are 0 in Whisper's encoder and left out.
 */
public final class WhisperEncoderLayer extends Module {
    public final MultiHeadSelfAttention selfAttn;
    public final LayerNorm selfAttnLayerNorm, finalLayerNorm;
    public final Linear fc1, fc2;

    public WhisperEncoderLayer(WhisperEncoderConfig c, Init init) {
        selfAttn = child("self_attn", new MultiHeadSelfAttention(c.dModel(), c.encoderAttentionHeads(), false, init));
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
}
