package io.higgs4j.higgs;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

import java.util.List;

/**
 * Rotary position embedding with llama3 frequency scaling, in the rotate-half convention of Hugging Face Llama.
 * The inverse frequencies are computed here in double precision; cos and sin in float32.
 */
public final class LlamaRotaryEmbedding {

    private final double[] invFreq;

    public LlamaRotaryEmbedding(HiggsAudioConfig.LlamaConfig c) {
        this.invFreq = inverseFrequencies(c.headDim(), c.ropeTheta(), c.ropeScaling());
    }

    /** inv_f_j = theta^(-2j/d), then llama3's rescaling by wavelength. */
    static double[] inverseFrequencies(long headDim, double theta, HiggsAudioConfig.RopeScaling s) {
        int half = (int) (headDim / 2);
        double[] f = new double[half];
        for (int j = 0; j < half; j++) f[j] = 1.0 / Math.pow(theta, (2.0 * j) / headDim);
        if (s == null) return f;
        double lowWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
        double highWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
        for (int j = 0; j < half; j++) {
            double wavelen = 2 * Math.PI / f[j];
            if (wavelen > lowWavelen) {
                f[j] = f[j] / s.factor();
            } else if (wavelen >= highWavelen) {
                double smooth = (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                f[j] = (1 - smooth) * f[j] / s.factor() + smooth * f[j];
            }
        }
        return f;
    }

    /** The inverse frequencies of the rotary embedding, after llama3 scaling (a copy), one per pair of head dimensions. */
    public double[] inverseFrequencies() {
        return invFreq.clone();
    }

    /**
     * cos and sin for position ids [B, L]: each [B, L, head_dim], in dtype, the sin with its first half negated (the
     * sign of rotate_half folded in, for {@link #apply}).
     */
    public List<Tensor> cosSin(Tensor positionIds, DType dtype) {
        try (Scope s = Scope.open()) {
            float[] inv = new float[invFreq.length];
            for (int i = 0; i < inv.length; i++) inv[i] = (float) invFreq[i];
            Tensor freqs = positionIds.to(positionIds.device(), DType.FLOAT32).unsqueeze(-1)
                    .mul(Tensor.of(inv, inv.length).to(positionIds.device()));
            Tensor emb = Tensor.cat(List.of(freqs, freqs), -1);
            Tensor sin = emb.sin().to(dtype);
            long half = sin.size(-1) / 2;
            Tensor signedSin = Tensor.cat(List.of(sin.narrow(-1, 0, half).neg(), sin.narrow(-1, half, half)), -1);
            return List.of(Scope.keep(emb.cos().to(dtype)), Scope.keep(signedSin));
        }
    }

    /**
     * x * cos + rotate_half(x) * sin for x [B, H, L, D] and cos/signedSin [B, L, D] from {@link #cosSin}: rotate_half(x)
     * is cat(-x2, x1), and cat(-x2, x1) * sin = roll(x, D/2) * cat(-sin1, sin2) element for element (negation is
     * exact), one copy where neg and cat are two.
     */
    public static Tensor apply(Tensor x, Tensor cos, Tensor signedSin) {
        try (Scope s = Scope.open()) {
            long d = x.size(-1);
            return Scope.keep(x.mul(cos.unsqueeze(1)).add(x.roll(d / 2, -1).mul(signedSin.unsqueeze(1))));
        }
    }
}
