package io.higgs4j.higgs;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

import java.util.List;

/**
 * Picks the next token of each row of float32 logits [rows, vocab], as transformers' sampling does: the warpers
 * (temperature, top-k, top-p with min_tokens_to_keep 1, removed entries set to -inf) and then
 * {@code softmax + multinomial}, or the argmax. libtorch's own ops throughout, so a seeded run draws the numbers the
 * reference draws.
 */
final class TokenSampler {

    private TokenSampler() { }

    /** One token per row. */
    static long[] next(Tensor logits, GenerationConfig c) {
        try (Scope s = Scope.open()) {
            // NaN or inf logits come from broken weights: the argmax would pick a NaN silently, multinomial fail obscurely
            double largest = logits.abs().max().item();
            if (!Double.isFinite(largest)) {
                throw new IllegalStateException("the model's logits hold " + largest + ": its weights (or the adapter's) are not"
                        + " finite numbers; check them, e.g. with the checkpoint a training run saved before its loss turned NaN");
            }
            if (!c.doSample()) return logits.argmax(-1, false).toLongArray();
            Tensor probs = warp(logits, c).softmax(-1);
            return multinomial(probs, false);
        }
    }

    /** Draws one index per row of probs [rows, vocab]. */
    static long[] multinomial(Tensor probs, boolean replacement) {
        try (Scope s = Scope.open()) {
            return probs.multinomial(1, replacement).view(probs.size(0)).toLongArray();
        }
    }

    static Tensor warp(Tensor logits, GenerationConfig c) {
        try (Scope s = Scope.open()) {
            Tensor scores = c.temperature() == 1.0 ? logits : logits.div(c.temperature());
            if (c.topK() > 0) scores = topK(scores, Math.min(c.topK(), scores.size(-1)));
            if (c.topP() < 1.0) scores = topP(scores, c.topP());
            return Scope.keep(scores == logits ? logits.share() : scores);
        }
    }

    /** Entries below the k-th largest of their row become -inf. */
    private static Tensor topK(Tensor scores, long k) {
        Tensor kth = scores.topk(k, -1, true, true).get(0).narrow(-1, k - 1, 1);
        return scores.maskedFill(scores.lt(kth), Double.NEGATIVE_INFINITY);
    }

    /**
     * Sorted ascending, the entries whose cumulative probability stays at or below 1 - p are removed, except the
     * largest.
     */
    private static Tensor topP(Tensor scores, double p) {
        List<Tensor> sorted = scores.sort(-1, false);
        Tensor values = sorted.get(0), indices = sorted.get(1);
        Tensor cumulative = values.softmax(-1).cumsum(-1);
        Tensor remove = cumulative.le(1 - p);
        long v = scores.size(-1);
        remove = remove.logicalAnd(Tensor.arange(v).lt(v - 1).to(remove.device()));
        Tensor removeAt = remove.scatter(1, indices, remove);
        return scores.maskedFill(removeAt, Double.NEGATIVE_INFINITY);
    }

    static Tensor asFloat(Tensor logits) {
        return logits.dtype() == DType.FLOAT32 ? logits.share() : logits.to(DType.FLOAT32);
    }
}
