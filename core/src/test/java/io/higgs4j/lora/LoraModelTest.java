package io.higgs4j.lora;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioLoss;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.nn.Init;
import io.higgs4j.nn.Linear;
import io.higgs4j.safetensors.SafetensorsFile;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class LoraModelTest {

    static final List<String> HEADS = List.of("audio_decoder_proj.text_lm_head", "audio_decoder_proj.audio_lm_head",
            "audio_codebook_embeddings");

    static HiggsAudioModel tiny(long seed) {
        Torch.manualSeed(seed);
        return new HiggsAudioModel(HiggsAudioConfig.preset("tiny"), Init.cpu(DType.FLOAT32));
    }

    /** One row: text, an audio-out clip of 3 columns, text (tiny ids: 1016 = <|AUDIO_OUT|>). */
    static HiggsAudioBatch batch() {
        Random r = new Random(9);
        long[] codes = new long[8 * 3];
        for (int i = 0; i < codes.length; i++) codes[i] = r.nextInt(1024);
        long[] labels = codes.clone();
        for (int k = 0; k < 8; k++) labels[k * 3] = -100;
        return new HiggsAudioBatch(Tensor.of(new long[] {4, 5, 1016, 6, 7}, 1, 5),
                Tensor.ones(new long[] {1, 5}, DType.INT64, Device.CPU), null, null, Tensor.of(codes, 8, 3), Tensor.of(new long[] {0}),
                Tensor.of(new long[] {-100, 5, -100, 6, 7}, 1, 5), Tensor.of(labels, 8, 3));
    }

    /** Outputs in evaluation mode (LoRA dropout off). */
    static float[] logits(HiggsAudioModel m, HiggsAudioBatch b) {
        m.train(false);
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            HiggsAudioModel.Output o = m.forward(b, 8);
            float[] text = o.logits().toFloatArray(), audio = o.audioLogits().toFloatArray();
            float[] all = java.util.Arrays.copyOf(text, text.length + audio.length);
            System.arraycopy(audio, 0, all, text.length, audio.length);
            return all;
        }
    }

    static void randomizeAdapter(LoraModel lora, long seed) {
        Torch.manualSeed(seed);
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            for (Tensor t : lora.trainableParameters().values()) t.copy_(Tensor.randn(t.shape()).mul(0.05).add(t));
        }
    }

    @Test
    void atInitialisationTheWrappedModelEqualsTheBase() {
        try (HiggsAudioModel m = tiny(1); Scope s = Scope.open()) {
            HiggsAudioBatch b = batch();
            float[] base = logits(m, b);
            try (LoraModel lora = LoraModel.apply(m, LoraConfig.of(16, 32, 0.0, "comprehensive", HEADS), Init.cpu(DType.FLOAT32))) {
                assertEquals(2 * (4 + 3 + 3), lora.wrapped().size());
                assertArrayEquals(base, logits(m, b), "B = 0 at initialisation");
            }
        }
    }

    @Test
    void mergedAndUnmergedAgreeAndDisablingGivesTheBase() {
        try (HiggsAudioModel m = tiny(1); Scope s = Scope.open()) {
            HiggsAudioBatch b = batch();
            float[] base = logits(m, b);
            float[] baseQ = m.layers.get(0).selfAttn.qProj.weight().toFloatArray();
            try (LoraModel lora = LoraModel.apply(m, LoraConfig.of(8, 16, 0.0, "comprehensive", HEADS), Init.cpu(DType.FLOAT32))) {
                randomizeAdapter(lora, 2);
                float[] unmerged = logits(m, b);
                assertFalse(java.util.Arrays.equals(base, unmerged));
                lora.setEnabled(false);
                assertArrayEquals(base, logits(m, b), "disabled: the base model, copies of modules_to_save swapped out");
                lora.setEnabled(true);
                assertArrayEquals(unmerged, logits(m, b));
                lora.merge();
                assertArrayEquals(unmerged, logits(m, b), 1e-4f, "merged vs unmerged (float32, tolerance 1e-4)");
                lora.unmerge();
                assertArrayEquals(baseQ, m.layers.get(0).selfAttn.qProj.weight().toFloatArray(), 1e-6f, "unmerge restores W");
                lora.unload(false);
                // W went through W + BA - BA in float32: equal to the base up to rounding.
                assertArrayEquals(base, logits(m, b), 1e-5f, "unloaded without merging: the base model");
                assertFalse(m.namedParameters().keySet().stream().anyMatch(n -> n.contains("lora_")));
            }
        }
    }

    @Test
    void mergeFoldsTheAdapterIntoTheWeightsInBf16Too() {
        HiggsAudioConfig c = HiggsAudioConfig.preset("tiny");
        try (HiggsAudioModel m = new HiggsAudioModel(c, Init.cpu(DType.BFLOAT16)); Scope s = Scope.open();
             LoraModel lora = LoraModel.apply(m, LoraConfig.of(4, 8, 0.0, "attention", List.of()), Init.cpu(DType.FLOAT32))) {
            randomizeAdapter(lora, 3);
            Linear q = m.layers.get(1).selfAttn.qProj;
            // Expected merged weight computed here in double from the factors: W + (alpha/r) * B @ A.
            float[] w = q.weight().toFloatArray(), a = q.lora().loraA.weight().toFloatArray(), bw = q.lora().loraB.weight().toFloatArray();
            int out = (int) q.outFeatures, in = (int) q.inFeatures, r = 4;
            lora.unload(true);
            float[] merged = q.weight().toFloatArray();
            for (int i = 0; i < out; i++) {
                for (int j = 0; j < in; j++) {
                    double d = 0;
                    for (int k = 0; k < r; k++) d += bw[i * r + k] * (double) a[k * in + j];
                    double want = w[i * in + j] + 2.0 * d;
                    assertEquals(want, merged[i * in + j], Math.abs(want) * 0x1p-7 + 1e-6, "w[" + i + "," + j + "] in bf16");
                }
            }
            assertEquals(DType.BFLOAT16, q.weight().dtype());
            assertNull(q.lora());
        }
    }

    @Test
    void onlyLoraAndModulesToSaveReceiveGradients() {
        try (HiggsAudioModel m = tiny(1); Scope s = Scope.open();
             LoraModel lora = LoraModel.apply(m, LoraConfig.of(4, 8, 0.1, "attention,audio", HEADS), Init.cpu(DType.FLOAT32))) {
            m.train(true);
            HiggsAudioBatch b = batch();
            HiggsAudioModel.Output o = m.forward(b, 8);
            HiggsAudioLoss.compute(o.logits(), o.expandedLabels(), o.audioLogits(), b.labelAudioIds()).total().backward();
            Map<String, Tensor> trainable = lora.trainableParameters();
            for (Map.Entry<String, Tensor> e : m.namedParameters().entrySet()) {
                Tensor g = e.getValue().grad();
                if (trainable.containsKey(e.getKey())) {
                    assertNotNull(g, e.getKey() + " is trainable but got no gradient");
                    assertTrue(e.getValue().requiresGrad());
                } else {
                    assertNull(g, e.getKey() + " is frozen but got a gradient");
                    assertFalse(e.getValue().requiresGrad());
                }
            }
            assertTrue(trainable.keySet().containsAll(List.of("audio_decoder_proj.text_lm_head.weight",
                    "layers.0.self_attn.q_proj.lora_A.weight", "layers.1.audio_mlp.down_proj.lora_B.weight")));
            assertFalse(trainable.containsKey("layers.0.mlp.up_proj.lora_A.weight"), "mlp is not a target here");
        }
    }

    /** r (in + out) per wrapped linear, written out from the tiny preset's sizes. */
    @Test
    void statisticsEqualAHandCount() {
        try (HiggsAudioModel m = HiggsAudioModel.shapeOnly(HiggsAudioConfig.preset("tiny"));
             LoraModel lora = LoraModel.apply(m, LoraConfig.of(16, 32, 0.05, "comprehensive", HEADS), Init.meta())) {
            long r = 16, h = 64, kv = 32, inter = 128, audioInter = 128, vocab = 1024, audioVocab = 8 * 1026;
            long perLayer = r * (h + h) + 2 * r * (h + kv) + r * (h + h)          // q, k, v, o
                    + 2 * r * (h + inter) + r * (inter + h)                        // mlp gate, up, down
                    + 2 * r * (h + audioInter) + r * (audioInter + h);             // audio_mlp
            long loraCount = 2 * perLayer;
            long copies = vocab * h + audioVocab * h + audioVocab * h;
            long base = 1_305_152; // `bin/higgs4j params --config tiny`, checked against its breakdown in ParamsCommandTest
            LoraModel.Stats st = lora.stats();
            assertEquals(loraCount, st.lora());
            assertEquals(loraCount + copies, st.trainable());
            assertEquals(base + loraCount + copies, st.total(), "the frozen originals of modules_to_save count too, as in PEFT");
            assertEquals(20, st.wrappedModules());
        }
    }

    /** A module to save with children is copied whole, as PEFT copies it. */
    @Test
    void modulesToSaveCopyChildrenToo() {
        try (HiggsAudioModel m = HiggsAudioModel.shapeOnly(HiggsAudioConfig.preset("tiny"));
             LoraModel lora = LoraModel.apply(m, LoraConfig.of(4, 8, 0, "attention", List.of("audio_decoder_proj")), Init.meta())) {
            assertTrue(lora.trainableParameters().keySet().containsAll(List.of("audio_decoder_proj.text_lm_head.weight",
                    "audio_decoder_proj.audio_lm_head.weight")), lora.trainableParameters().keySet().toString());
            assertEquals(1024L * 64 + 8208L * 64, lora.stats().trainable() - lora.stats().lora());
        }
    }

    @Test
    void targetingRules() {
        try (HiggsAudioModel m = HiggsAudioModel.shapeOnly(HiggsAudioConfig.preset("tiny"))) {
            LoraConfig regex = new LoraConfig(4, 8, 0, false, null, ".*layers\\.1\\.self_attn\\.(q|v)_proj", null, List.of(), List.of(), null);
            try (LoraModel l = LoraModel.apply(m, regex, Init.meta())) {
                assertEquals(List.of("layers.1.self_attn.q_proj", "layers.1.self_attn.v_proj"), List.copyOf(l.wrapped().keySet()));
                l.unload(false);
            }
            LoraConfig layers = new LoraConfig(4, 8, 0, true, LoraConfig.targets("mlp"), null, List.of(0), List.of("down_proj"), List.of(), null);
            assertEquals(8 / Math.sqrt(4), layers.scaling(), 1e-12, "rsLoRA");
            try (LoraModel l = LoraModel.apply(m, layers, Init.meta())) {
                assertEquals(List.of("layers.0.mlp.gate_proj", "layers.0.mlp.up_proj"), List.copyOf(l.wrapped().keySet()));
                l.unload(false);
            }
            // A module in modules_to_save never gets LoRA, even when a target names it.
            LoraConfig both = LoraConfig.of(4, 8, 0, "attention,text_lm_head", List.of("audio_decoder_proj.text_lm_head"));
            try (LoraModel l = LoraModel.apply(m, both, Init.meta())) {
                assertFalse(l.wrapped().containsKey("audio_decoder_proj.text_lm_head"));
                assertEquals(8, l.wrapped().size());
                l.unload(false);
            }
            assertThrows(IllegalArgumentException.class, () -> LoraModel.apply(m, LoraConfig.of(4, 8, 0, "nothing_like_this", List.of()), Init.meta()));
            assertThrows(IllegalArgumentException.class, () -> LoraModel.apply(m, LoraConfig.of(4, 8, 0, "attention", List.of("no_such_module")), Init.meta()));
        }
    }

    @Test
    void peftFormatRoundTripAndRefusals(@TempDir Path dir) throws Exception {
        try (Scope outer = Scope.open()) {
            roundTripAndRefusals(dir, batch());
        }
    }

    private void roundTripAndRefusals(Path dir, HiggsAudioBatch b) throws Exception {
        float[] trained;
        try (HiggsAudioModel m = tiny(1); Scope s = Scope.open();
             LoraModel lora = LoraModel.apply(m, LoraConfig.of(4, 8, 0.05, "comprehensive", HEADS).withBaseModel("bosonai/higgs-audio-v2-generation-3B-base"),
                     Init.cpu(DType.FLOAT32))) {
            randomizeAdapter(lora, 4);
            trained = logits(m, b);
            lora.save(dir);
        }
        var cfg = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
        assertEquals("LORA", cfg.get("peft_type").asText());
        assertEquals(4, cfg.get("r").asInt());
        assertEquals(8.0, cfg.get("lora_alpha").asDouble());
        assertEquals(0.05, cfg.get("lora_dropout").asDouble());
        assertEquals(10, cfg.get("target_modules").size(), "comprehensive: 4 attention + 3 mlp + 3 audio_mlp");
        assertEquals(3, cfg.get("modules_to_save").size());
        for (String k : List.of("use_rslora", "use_dora", "bias", "base_model_name_or_path", "inference_mode", "task_type")) {
            assertTrue(cfg.has(k), k);
        }
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
            assertTrue(f.contains("base_model.model.layers.0.self_attn.q_proj.lora_A.weight"));
            assertArrayEquals(new long[] {4, 64}, f.info("base_model.model.layers.0.self_attn.q_proj.lora_A.weight").shape());
            assertArrayEquals(new long[] {64, 4}, f.info("base_model.model.layers.0.self_attn.q_proj.lora_B.weight").shape());
            assertTrue(f.contains("base_model.model.audio_decoder_proj.text_lm_head.weight"));
            assertTrue(f.contains("base_model.model.audio_codebook_embeddings.weight"));
            assertEquals(2 * 20 + 3, f.names().size());
        }
        try (HiggsAudioModel fresh = tiny(1); Scope s = Scope.open();
             LoraModel loaded = LoraModel.load(fresh, dir, Init.cpu(DType.FLOAT32))) {
            assertArrayEquals(trained, logits(fresh, b), "round trip");
        }

        // A wrong rank in the config, and a missing key, are refused with the key named.
        ObjectNode wrongRank = (ObjectNode) cfg.deepCopy();
        wrongRank.put("r", 8);
        Files.writeString(dir.resolve("adapter_config.json"), wrongRank.toString());
        try (HiggsAudioModel fresh = tiny(1)) {
            var e = assertThrows(IllegalArgumentException.class, () -> LoraModel.load(fresh, dir, Init.cpu(DType.FLOAT32)));
            assertTrue(e.getMessage().contains("lora_A.weight has shape [4, 64] but the model expects [8, 64] (r = 8"), e.getMessage());
        }
        Files.writeString(dir.resolve("adapter_config.json"), cfg.toString());
        Map<String, Tensor> partial = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("adapter_model.safetensors")); Scope s = Scope.open()) {
            for (String n : f.names()) if (!n.equals("base_model.model.layers.1.mlp.up_proj.lora_B.weight")) partial.put(n, f.load(n));
            SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), partial);
        }
        try (HiggsAudioModel fresh = tiny(1)) {
            var e = assertThrows(IllegalArgumentException.class, () -> LoraModel.load(fresh, dir, Init.cpu(DType.FLOAT32)));
            assertTrue(e.getMessage().contains("missing keys [base_model.model.layers.1.mlp.up_proj.lora_B.weight]"), e.getMessage());
        }
    }
}
