package io.higgs4j.higgs;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class TokenSamplerTest {

    /** Broken weights give NaN or inf logits: greedy decoding would take the NaN's index, sampling fail inside libtorch. */
    @Test
    void logitsThatAreNotFiniteAreRefusedByName() {
        try (Scope s = Scope.open()) {
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                Tensor logits = Tensor.of(new float[] {0.5f, bad, 0.25f}).view(1, 3);
                for (GenerationConfig c : new GenerationConfig[] {GenerationConfig.greedy(4), GenerationConfig.officialSampling(4, 1L)}) {
                    var e = assertThrows(IllegalStateException.class, () -> TokenSampler.next(logits, c));
                    assertTrue(e.getMessage().contains("not finite"), e.getMessage());
                }
            }
            assertArrayEquals(new long[] {0}, TokenSampler.next(Tensor.of(new float[] {0.5f, -1e30f, 0.25f}).view(1, 3),
                    GenerationConfig.greedy(4)), "large finite logits are fine");
        }
    }
}
