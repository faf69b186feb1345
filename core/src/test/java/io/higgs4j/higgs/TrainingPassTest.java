package io.higgs4j.higgs;

import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The lean training pass against the plain one it replaces: model.forward (full logits, parity-tested against the
 * official code), HiggsAudioLoss.compute and backward(). Same losses and gradients to float32 rounding; with activation
 * checkpointing, the very same bits.
 */
class TrainingPassTest {

    private static final List<String> HEADS = List.of("audio_decoder_proj.text_lm_head", "audio_decoder_proj.audio_lm_head",
            "audio_codebook_embeddings", "embed_tokens");

    private static HiggsAudioModel model(HiggsAudioConfig config) {
        Torch.manualSeed(3);
        return new HiggsAudioModel(config, Init.cpu(DType.FLOAT32));
    }

    /** Every parameter trained: the gradient reaches the heads, every layer kind and both embeddings. */
    private static void checkAgainstFullComputation(HiggsAudioConfig config, HiggsAudioLoss.Options loss, long chunkElements) {
        try (HiggsAudioModel m = model(config); Scope s = Scope.open()) {
            m.requiresGrad(true);
            HiggsAudioBatch batch = TinyBatches.mixed(11);
            HiggsAudioModel.Output out = m.forward(batch, 8);
            HiggsAudioLoss.Result full = HiggsAudioLoss.compute(out.logits(), out.expandedLabels(), out.audioLogits(), batch.labelAudioIds(), loss);
            full.total().mul(0.25).backward();
            Map<String, float[]> expected = grads(m.namedParameters());

            HiggsAudioLoss.Result lean = TrainingPass.run(m, batch, 8, new TrainingPass.Options(loss, false, 0.25), chunkElements);
            Map<String, float[]> actual = grads(m.namedParameters());

            assertClose(full.total().item(), lean.total().item(), "total");
            assertClose(full.text().item(), lean.text().item(), "text");
            assertClose(full.audio().item(), lean.audio().item(), "audio");
            float[] a = full.codebookLosses().toFloatArray(), b = lean.codebookLosses().toFloatArray();
            assertEquals(a.length, b.length);
            for (int k = 0; k < a.length; k++) assertClose(a[k], b[k], "codebook " + k);
            assertEquals(expected.keySet(), actual.keySet());
            for (String name : expected.keySet()) assertGradClose(expected.get(name), actual.get(name), name);
        }
    }

    @Test
    void equalsTheFullComputationOnDualFfnLayers() {
        checkAgainstFullComputation(HiggsAudioConfig.preset("tiny"), HiggsAudioLoss.Options.defaults(), TrainingPass.CHUNK_ELEMENTS);
    }

    @Test
    void equalsTheFullComputationInSmallChunksWithWeightsAndSum() {
        // 3 text rows and 2 audio rows per chunk: the sums and gradients cross chunk boundaries
        checkAgainstFullComputation(HiggsAudioConfig.preset("tiny"),
                new HiggsAudioLoss.Options(0.3, HiggsAudioLoss.AudioReduction.SUM), 3 * 1024);
        checkAgainstFullComputation(HiggsAudioConfig.preset("tiny"), HiggsAudioLoss.Options.defaults(), 2L * 8 * 1026);
    }

    @Test
    void equalsTheFullComputationOnFastForwardLayers() {
        checkAgainstFullComputation(HiggsAudioConfig.preset("tiny").withAdapter("dual_ffn_fast_forward", Set.of(0)),
                HiggsAudioLoss.Options.defaults(), 3 * 1024);
    }

    /**
     * The cut: the last layer runs where a head reads (the mixed batch leaves the prompt, the audio-in clip, the rows'
     * last positions and row 1's padding out, and row 1 has fewer such positions than row 0, so spare slots too), and
     * there equals the whole layer.
     */
    @Test
    void theLastLayerRunsOnlyWhereAHeadReads() {
        try (HiggsAudioModel m = model(HiggsAudioConfig.preset("tiny")); Scope s = Scope.open(); var g = Torch.noGrad()) {
            for (HiggsAudioBatch batch : List.of(TinyBatches.mixed(11), TinyBatches.textOnly(5, 6, 7, 8, 9))) {
                HiggsAudioModel.Merged merged = m.merge(batch, 8, false);
                long b = merged.h().size(0), length = merged.h().size(1), hidden = merged.h().size(2);
                TrainingPass.Targets t = TrainingPass.Targets.of(m.config, merged.plan(), length, batch.labelAudioIds());
                TrainingPass.Cut cut = TrainingPass.Cut.of(t, merged, m.layers.items().getLast());
                assertNotNull(cut, "positions no head reads");
                long n = cut.kept().n();
                assertTrue(n < length, n + " kept of " + length);
                long[] flat = cut.kept().flat().toLongArray();
                for (int i = 0; i < t.textRows().length; i++) assertEquals(t.textRows()[i], flat[(int) cut.targets().textRows()[i]], "text row " + i);
                for (int i = 0; i < t.audioRows().length; i++) assertEquals(t.audioRows()[i], flat[(int) cut.targets().audioRows()[i]], "audio row " + i);
                assertEquals(b * n, cut.kept().audio().numel() + cut.kept().text().numel(), "every slot audio or text");
                for (HiggsAudioDecoderLayer layer : m.layers.items()) {
                    float[] whole = layer.forward(merged.h(), merged.ctx()).reshape(b * length, hidden).indexSelect(0, cut.kept().flat()).toFloatArray();
                    float[] kept = layer.forwardKept(merged.h(), merged.ctx(), cut.kept()).toFloatArray();
                    assertGradClose(whole, kept, "layer output at the kept positions");
                }
            }
        }
    }

    @Test
    void textOnlyBatchHasNoAudioLoss() {
        try (HiggsAudioModel m = model(HiggsAudioConfig.preset("tiny")); Scope s = Scope.open()) {
            m.requiresGrad(true);
            HiggsAudioBatch batch = TinyBatches.textOnly(5, 6, 7, 8, 9);
            HiggsAudioModel.Output out = m.forward(batch, 8);
            HiggsAudioLoss.Result full = HiggsAudioLoss.compute(out.logits(), out.expandedLabels(), null, null);
            HiggsAudioLoss.Result lean = TrainingPass.run(m, batch, 8, TrainingPass.Options.defaults());
            assertClose(full.total().item(), lean.total().item(), "total");
            assertEquals(0.0, lean.audio().item());
            assertEquals(0, lean.codebookLosses().numel());
        }
    }

    @Test
    void evaluationSumsEqualTheFullComputation() {
        for (HiggsAudioConfig config : List.of(HiggsAudioConfig.preset("tiny"),
                HiggsAudioConfig.preset("tiny").withAdapter("dual_ffn_fast_forward", Set.of(0)))) {
            try (HiggsAudioModel m = model(config); Scope s = Scope.open(); var g = Torch.noGrad()) {
                HiggsAudioBatch batch = TinyBatches.mixed(13);
                HiggsAudioModel.Output out = m.forward(batch, 8);
                double[] full = HiggsAudioLoss.sums(out.logits(), out.expandedLabels(), out.audioLogits(), batch.labelAudioIds(), 8).toDoubleArray();
                double[] lean = TrainingPass.evaluationSums(m, batch, 8).toDoubleArray();
                assertEquals(full.length, lean.length);
                for (int i = 0; i < full.length; i++) assertEquals(full[i], lean[i], 1e-5 * Math.max(1, Math.abs(full[i])), "entry " + i);
                assertTrue(full[1] > 0 && full[2 + 8] > 0, "text and audio labels were counted");
            }
        }
    }

    /** LoRA with dropout, so the re-run must draw the same masks; a different seed must change the gradients. */
    @Test
    void checkpointingGivesBitIdenticalGradients() {
        for (String adapter : List.of("dual_ffn", "dual_ffn_fast_forward")) {
            HiggsAudioConfig config = HiggsAudioConfig.preset("tiny").withAdapter(adapter, Set.of(0));
            try (HiggsAudioModel m = model(config); Scope s = Scope.open();
                 LoraModel lora = LoraModel.apply(m, LoraConfig.of(4, 8, 0.3, "comprehensive", HEADS), Init.cpu(DType.FLOAT32))) {
                randomize(lora);
                m.train(true);
                HiggsAudioBatch batch = TinyBatches.mixed(5);
                Map<String, float[]> plain = pass(m, lora, batch, false, 42);
                Map<String, float[]> checkpointed = pass(m, lora, batch, true, 42);
                Map<String, float[]> otherSeed = pass(m, lora, batch, false, 43);
                assertEquals(plain.keySet(), checkpointed.keySet());
                boolean differs = false;
                for (String name : plain.keySet()) {
                    assertArrayEquals(plain.get(name), checkpointed.get(name), adapter + ": " + name);
                    differs |= !java.util.Arrays.equals(plain.get(name), otherSeed.get(name));
                }
                assertTrue(differs, "dropout was active: another seed gives other gradients");
                assertTrue(plain.keySet().stream().anyMatch(n -> n.contains("layers.0") && n.contains("lora_A")), "LoRA of layer 0 trained");
            }
        }
    }

    private static Map<String, float[]> pass(HiggsAudioModel m, LoraModel lora, HiggsAudioBatch batch, boolean checkpointing, long seed) {
        Torch.manualSeed(seed);
        try (Scope s = Scope.open()) {
            TrainingPass.run(m, batch, 8, new TrainingPass.Options(HiggsAudioLoss.Options.defaults(), checkpointing, 1.0));
        }
        Map<String, float[]> g = grads(lora.trainableParameters());
        for (Tensor t : lora.trainableParameters().values()) t.resetGrad();
        return g;
    }

    private static void randomize(LoraModel lora) {
        Torch.manualSeed(9);
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            for (Tensor t : lora.trainableParameters().values()) t.copy_(Tensor.randn(t.shape()).mul(0.05).add(t));
        }
    }

    /** Each parameter's gradient (zeros when it got none), then the gradients dropped. */
    private static Map<String, float[]> grads(Map<String, Tensor> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (var e : params.entrySet()) {
            try (Tensor g = e.getValue().grad()) {
                out.put(e.getKey(), g == null ? new float[(int) e.getValue().numel()] : g.toFloatArray());
            }
            e.getValue().resetGrad();
        }
        return out;
    }

    private static void assertClose(double expected, double actual, String what) {
        assertEquals(expected, actual, 1e-6 * Math.max(1e-3, Math.abs(expected)), what);
    }

    /** Element-wise within 1e-6 of the gradient's largest magnitude: float32 sums in another order. */
    private static void assertGradClose(float[] expected, float[] actual, String name) {
        assertEquals(expected.length, actual.length, name);
        double scale = 0;
        for (float v : expected) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-6 * scale + 1e-12, name + "[" + i + "] (largest |g| " + scale + ")");
        }
    }
}
