package io.higgs4j.higgs;

import io.higgs4j.torch.Aten;
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
            if (!c.doSample()) return logits.argmax(-1, false).toLongArray();
            Tensor probs = warp(logits, c).softmax(-1);
            return multinomial(probs, false);
        }
    }

    /** Draws one index per row of probs [rows, vocab]. */
    static long[] multinomial(Tensor probs, boolean replacement) {
        try (Scope s = Scope.open()) {
            return Aten.callTensor("aten::multinomial", "", probs, 1L, replacement, Aten.NONE).view(probs.size(0)).toLongArray();
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
        List<Object> top = Aten.call("aten::topk", "", List.of(Aten.Ret.TENSOR, Aten.Ret.TENSOR), scores, k, -1L, true, true);
        Tensor kth = ((Tensor) top.get(0)).narrow(-1, k - 1, 1);
        return scores.maskedFill(scores.lt(kth), Double.NEGATIVE_INFINITY);
    }

    /**
     * Sorted ascending, the entries whose cumulative probability stays at or below 1 - p are removed, except the
     * largest.
     */
    private static Tensor topP(Tensor scores, double p) {
        List<Object> sorted = Aten.call("aten::sort", "", List.of(Aten.Ret.TENSOR, Aten.Ret.TENSOR), scores, -1L, false);
        Tensor values = (Tensor) sorted.get(0), indices = (Tensor) sorted.get(1);
        Tensor cumulative = Aten.callTensor("aten::cumsum", "", values.softmax(-1), -1L, Aten.NONE);
        Tensor remove = cumulative.le(1 - p);
        long v = scores.size(-1);
        remove = remove.logicalAnd(Tensor.arange(v).lt(v - 1).to(remove.device()));
        Tensor removeAt = Aten.callTensor("aten::scatter", "src", remove, 1L, indices, remove);
        return scores.maskedFill(removeAt, Double.NEGATIVE_INFINITY);
    }

    static Tensor asFloat(Tensor logits) {
        return logits.dtype() == DType.FLOAT32 ? logits.share() : logits.to(DType.FLOAT32);
    }
}
