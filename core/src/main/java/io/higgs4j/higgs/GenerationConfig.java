package io.higgs4j.higgs;

import java.util.Arrays;

/**
 * The settings of {@link HiggsAudioGenerator}, named as the reference's {@code generate} kwargs. Sampling
 * (doSample) applies temperature, then top-k (0: off), then top-p (1: off), as transformers' logits warpers do; greedy
 * takes the argmax of the raw logits. Repetition-aware sampling (rasWinLen, null: off) resamples, from the raw audio
 * logits, every codebook whose chosen code already occurs rasWinMaxNumRepeat times in the last rasWinLen audio-out
 * columns. A seed reseeds libtorch's CPU generator first (the stream of {@code torch.Generator().manual_seed(seed)}).
 *
 * @param stopTokenIds generation ends after emitting any of these (as transformers' EOS stopping criterion)
 */
public record GenerationConfig(int maxNewTokens, long[] stopTokenIds, boolean doSample, double temperature, int topK,
                               double topP, Integer rasWinLen, int rasWinMaxNumRepeat, Long seed) {

    public GenerationConfig {
        if (maxNewTokens < 1) throw new IllegalArgumentException("max_new_tokens must be >= 1, got " + maxNewTokens);
        stopTokenIds = stopTokenIds == null ? new long[0] : stopTokenIds.clone();
        if (!(temperature > 0) || Double.isInfinite(temperature)) throw new IllegalArgumentException("temperature must be > 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top_k must be >= 0 (0 = off), got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        if (rasWinLen != null && rasWinLen < 1) throw new IllegalArgumentException("ras_win_len must be >= 1 (or off), got " + rasWinLen);
        if (rasWinMaxNumRepeat < 1) throw new IllegalArgumentException("ras_win_max_num_repeat must be >= 1, got " + rasWinMaxNumRepeat);
    }

    /** Greedy decoding without repetition-aware sampling. */
    public static GenerationConfig greedy(int maxNewTokens, long... stopTokenIds) {
        return new GenerationConfig(maxNewTokens, stopTokenIds, false, 1.0, 0, 1.0, null, 2, null);
    }

    /** The official examples/generation.py defaults: temperature 1, top-k 50, top-p 0.95, RAS window 7, 2 repeats. */
    public static GenerationConfig officialSampling(int maxNewTokens, Long seed, long... stopTokenIds) {
        return new GenerationConfig(maxNewTokens, stopTokenIds, true, 1.0, 50, 0.95, 7, 2, seed);
    }

    /** Whether token is one of the stop tokens. */
    public boolean isStop(long token) {
        for (long s : stopTokenIds) if (s == token) return true;
        return false;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerationConfig g && maxNewTokens == g.maxNewTokens && Arrays.equals(stopTokenIds, g.stopTokenIds)
                && doSample == g.doSample && temperature == g.temperature && topK == g.topK && topP == g.topP
                && java.util.Objects.equals(rasWinLen, g.rasWinLen) && rasWinMaxNumRepeat == g.rasWinMaxNumRepeat
                && java.util.Objects.equals(seed, g.seed);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(maxNewTokens, Arrays.hashCode(stopTokenIds), doSample, temperature, topK, topP, rasWinLen, seed);
    }

    @Override
    public String toString() {
        return "GenerationConfig[max_new_tokens=" + maxNewTokens + ", stop=" + Arrays.toString(stopTokenIds) + ", do_sample=" + doSample
                + ", temperature=" + temperature + ", top_k=" + topK + ", top_p=" + topP + ", ras_win_len=" + rasWinLen
                + ", ras_win_max_num_repeat=" + rasWinMaxNumRepeat + ", seed=" + seed + "]";
    }
}
