package io.higgs4j.higgs;

import io.higgs4j.nn.Init;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class HiggsAudioModelTest {

    static HiggsAudioModel tiny(DType dtype) {
        Torch.manualSeed(0);
        return new HiggsAudioModel(HiggsAudioConfig.preset("tiny"), Init.cpu(dtype));
    }

    static void assertFinite(Tensor t, String what) {
        for (double v : t.toDoubleArray()) assertTrue(Double.isFinite(v), what + " holds " + v);
    }

    @Test
    void forwardAndBackwardOfTheTinyModel() {
        try (HiggsAudioModel model = tiny(DType.FLOAT32); Scope s = Scope.open()) {
            model.requiresGrad(true);
            HiggsAudioBatch batch = TinyBatches.mixed(1);
            HiggsAudioModel.Output out = model.forward(batch, 8);
            assertArrayEquals(new long[] {2, 24, 1024}, out.logits().shape(), "row 0 merges to 3+4+2+5+3 = 17, rounded up to 24");
            assertArrayEquals(new long[] {8, 8, 1026}, out.audioLogits().shape());
            assertFinite(out.logits(), "logits");
            assertFinite(out.audioLogits(), "audio logits");
            long[] labels = out.expandedLabels().toLongArray();
            boolean[] audioOut = out.audioOutMask().toBooleanArray(), audioIn = out.audioInMask().toBooleanArray();
            for (int i = 0; i < labels.length; i++) if (audioOut[i] || audioIn[i]) assertEquals(-100, labels[i]);
            Tensor loss = HiggsAudioLoss.compute(out.logits(), out.expandedLabels(), out.audioLogits(), batch.labelAudioIds(),
                    HiggsAudioLoss.Options.defaults()).total();
            loss.backward();
            for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
                Tensor g = e.getValue().grad();
                assertNotNull(g, "no gradient for " + e.getKey());
                assertFinite(g, "gradient of " + e.getKey());
            }
        }
    }

    @Test
    void textOnlyRowsIgnoreTheAudioAdapter() {
        try (HiggsAudioModel model = tiny(DType.FLOAT64); Scope s = Scope.open()) {
            HiggsAudioBatch text = TinyBatches.textOnly(3, 4, 5, 6, 7);
            float[] before = model.forward(text, 1).logits().toFloatArray();
            try (var g = Torch.noGrad()) {
                for (var e : model.namedParameters().entrySet()) {
                    if (e.getKey().contains("audio") && !e.getKey().contains("text_lm_head")) e.getValue().copy_(Tensor.randn(e.getValue().shape()).mul(5.0));
                }
            }
            assertArrayEquals(before, model.forward(text, 1).logits().toFloatArray(), "audio weights changed text-only outputs");
            // A stack-adapter model (plain Llama layers) with the same text weights gives the same text-only outputs.
            try (HiggsAudioModel stack = new HiggsAudioModel(HiggsAudioConfig.preset("tiny").withAdapter("stack", Set.of()),
                    Init.cpu(DType.FLOAT64))) {
                Map<String, Tensor> src = model.namedParameters();
                try (var g = Torch.noGrad()) {
                    stack.namedParameters().forEach((n, t) -> t.copy_(src.get(n)));
                }
                assertArrayEquals(before, stack.forward(text, 1).logits().toFloatArray(), 1e-9f);
            }
        }
    }

    @Test
    void aTextRowIsUnaffectedByAnAudioRowBesideIt() {
        try (HiggsAudioModel model = tiny(DType.FLOAT64); Scope s = Scope.open()) {
            HiggsAudioBatch mixed = TinyBatches.mixed(2);
            HiggsAudioModel.Output out = model.forward(mixed, 8);
            // Row 1 of the mixed batch alone: its text tokens only.
            HiggsAudioBatch alone = TinyBatches.textOnly(20, 21);
            Tensor aloneLogits = model.forward(alone, 1).logits();
            assertArrayEquals(aloneLogits.toFloatArray(), out.logits().select(0, 1).narrow(0, 0, 2).toFloatArray(), 1e-9f);
        }
    }

    @Test
    void fastForwardLayersLeaveAudioPositionsUnchanged() {
        HiggsAudioConfig c = HiggsAudioConfig.preset("tiny").withAdapter("dual_ffn_fast_forward", Set.of(1));
        try (HiggsAudioModel model = new HiggsAudioModel(c, Init.cpu(DType.FLOAT64)); Scope s = Scope.open()) {
            assertEquals(HiggsAudioDecoderLayer.Kind.FAST_FORWARD, model.layers.get(0).kind);
            assertFalse(model.namedParameters().containsKey("layers.0.audio_mlp.gate_proj.weight"));
            assertTrue(model.namedParameters().containsKey("layers.1.audio_mlp.gate_proj.weight"));
            HiggsAudioModel.Output out = model.forward(TinyBatches.mixed(3), 8);
            assertFinite(out.logits(), "logits");
            Tensor loss = out.logits().sum().add(out.audioLogits().sum());
            model.requiresGrad(true);
            model.forward(TinyBatches.mixed(3), 8).logits().sum().backward();
            for (var e : model.namedParameters().entrySet()) {
                Tensor g = e.getValue().grad();
                if (g != null) assertFinite(g, e.getKey());
            }
            assertFinite(loss, "loss");
        }
    }

    @Test
    void unsupportedConfigurationsAreRefusedByKey() throws Exception {
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        var json = HiggsAudioConfig.preset("tiny").toJson();
        assertEquals(HiggsAudioConfig.preset("tiny"), HiggsAudioConfig.fromJson(json), "toJson/fromJson round trip");
        for (var bad : new String[][] {{"audio_adapter_type", "\"moe\""}, {"use_rq_transformer", "true"},
                {"use_audio_out_self_attention", "1"}, {"audio_decoder_proj_num_layers", "2"}, {"encode_whisper_embed", "true"},
                // the stream BOS and EOS are codes in [0, codebook size + 2) = [0, 1026), and two different ones
                {"audio_stream_bos_id", "1026"}, {"audio_stream_eos_id", "-7"}, {"audio_stream_eos_id", "1024"},
                {"audio_codebook_size", "2147483647"}}) {
            var copy = json.deepCopy();
            copy.set(bad[0], mapper.readTree(bad[1]));
            var e = assertThrows(HiggsAudioConfig.ConfigException.class, () -> HiggsAudioConfig.fromJson(copy));
            assertTrue(e.getMessage().contains(bad[0]), e.getMessage());
        }
        var copy = json.deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) copy.get("text_config")).put("hidden_act", "gelu");
        assertTrue(assertThrows(HiggsAudioConfig.ConfigException.class, () -> HiggsAudioConfig.fromJson(copy))
                .getMessage().contains("hidden_act"));
    }

    @Test
    void aBatchWithoutTokensIsRefused() {
        try (Scope s = Scope.open()) {
            for (long[] shape : new long[][] {{1, 0}, {0, 4}}) {
                Tensor ids = Tensor.zeros(shape, DType.INT64, Device.CPU);
                var e = assertThrows(IllegalArgumentException.class,
                        () -> new HiggsAudioBatch(ids, null, null, null, null, null, null, null));
                assertTrue(e.getMessage().contains("input_ids") && e.getMessage().contains(java.util.Arrays.toString(shape)), e.getMessage());
            }
        }
    }

    /** encode_whisper_embed: each <|AUDIO|> becomes its Whisper tokens, then its code columns; gradients reach the tower. */
    @Test
    void whisperConditioningMergesTokensAndTrains() {
        HiggsAudioConfig c = HiggsAudioConfig.preset("tiny").withWhisper(true);
        Torch.manualSeed(4);
        try (HiggsAudioModel model = new HiggsAudioModel(c, Init.cpu(DType.FLOAT32)); Scope s = Scope.open()) {
            assertTrue(model.namedParameters().containsKey("audio_tower.conv1.weight"));
            assertTrue(model.namedParameters().containsKey("audio_encoder_proj.linear.bias"));
            long A = c.audioInTokenIdx();
            long[] mask = new long[2 * 3000];
            for (int i = 0; i < 3000; i++) mask[i] = 1;
            for (int i = 0; i < 1500; i++) mask[3000 + i] = 1;
            long[] codes = new long[8 * 7];
            for (int i = 0; i < codes.length; i++) codes[i] = i % 1026;
            HiggsAudioBatch batch = new HiggsAudioBatch(Tensor.of(new long[] {5, A, 6, A, 7}, 1, 5),
                    Tensor.ones(new long[] {1, 5}, DType.INT64, io.higgs4j.torch.Device.CPU),
                    Tensor.of(codes, 8, 7), Tensor.of(new long[] {0, 4}), null, null,
                    Tensor.of(new long[] {-100, -100, 6, -100, 7}, 1, 5), null,
                    Tensor.randn(2, 128, 3000), Tensor.of(mask, 2, 3000));
            model.requiresGrad(true);
            HiggsAudioModel.Output out = model.forward(batch, 8);
            // 1 + (750 Whisper + 4 codes) + 1 + (375 Whisper + 3 codes) + 1 = 1135 positions, rounded up to 1136.
            assertArrayEquals(new long[] {1, 1136, 1024}, out.logits().shape());
            boolean[] in = out.audioInMask().toBooleanArray();
            int codePositions = 0;
            for (boolean b : in) if (b) codePositions++;
            assertEquals(7, codePositions, "only code columns are audio positions; Whisper tokens take the text path");
            assertTrue(in[1 + 750] && !in[750], "clip 0: 750 Whisper tokens, then its codes");
            long[] labels = out.expandedLabels().toLongArray();
            assertEquals(6, labels[1 + 754]);
            assertEquals(7, labels[1134]);
            out.logits().logSoftmax(-1).mean().neg().backward();
            Tensor g = model.namedParameters().get("audio_tower.layers.0.fc1.weight").grad();
            assertNotNull(g);
            assertFinite(g, "tower gradient");
        }
    }
}
