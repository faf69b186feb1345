package io.higgs4j.nn;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/**
 * Bidirectional multi-head self-attention as Hugging Face's Whisper and HuBERT encoders write it: {@code k_proj},
 * {@code v_proj}, {@code q_proj} and {@code out_proj} (registered in that order), scaled dot product with
 * 1/sqrt(head_dim), no causal mask. Whisper's k_proj has no bias; HuBERT's has one.
 */
public final class MultiHeadSelfAttention extends Module {
    public final Linear kProj, vProj, qProj, outProj;
    private final int heads;
    private final long headDim;

    public MultiHeadSelfAttention(long dModel, int heads, boolean keyBias, Init init) {
        this.heads = heads;
        this.headDim = dModel / heads;
        kProj = child("k_proj", new Linear(dModel, dModel, keyBias, init));
        vProj = child("v_proj", new Linear(dModel, dModel, true, init));
        qProj = child("q_proj", new Linear(dModel, dModel, true, init));
        outProj = child("out_proj", new Linear(dModel, dModel, true, init));
    }

    /** x [B, T, d]; keyMask null (attend everywhere) or bool [B, 1, 1, T], true where a key may be attended. */
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
