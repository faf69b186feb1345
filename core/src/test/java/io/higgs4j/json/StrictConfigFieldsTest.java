package io.higgs4j.json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.WhisperEncoderConfig;
import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.tokenizer.AudioTokenizerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every field the configuration readers take from a user's file refuses a value of the wrong JSON type with an error
 * naming the file and the key: never a default, a 0 or a truncated number.
 */
class StrictConfigFieldsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    interface Reader {
        Object read(Path file) throws Exception;
    }

    enum Kind { INT, LONG, NUMBER, BOOL, STRING, OBJECT, INT_LIST, STRING_LIST }

    /** Values of the wrong JSON type for a field of kind k. */
    static List<JsonNode> wrong(Kind k) {
        var f = JSON.getNodeFactory();
        return switch (k) {
            case INT -> List.of(f.textNode("eight"), f.numberNode(64.5), f.booleanNode(true), f.arrayNode().add(1), f.numberNode(1L << 40));
            case LONG -> List.of(f.textNode("eight"), f.numberNode(64.5), f.booleanNode(true), f.arrayNode().add(1), f.numberNode(1e30));
            case NUMBER -> List.of(f.textNode("0.5"), f.booleanNode(false), f.objectNode());
            case BOOL -> List.of(f.textNode("true"), f.numberNode(1.5), f.arrayNode());
            case STRING -> List.of(f.numberNode(3), f.booleanNode(true), f.arrayNode().add("x"));
            case OBJECT -> List.of(f.textNode("x"), f.numberNode(1), f.arrayNode().add(1));
            case INT_LIST -> List.of(f.textNode("1,2"), f.arrayNode().add("a"), f.arrayNode().add(1.5));
            case STRING_LIST -> List.of(f.numberNode(7), f.arrayNode().add(1), f.objectNode());
        };
    }

    /** Writes valid with the dotted key replaced by each wrong value and checks that reader refuses it, naming both. */
    static void checkEveryField(Path dir, JsonNode valid, Map<String, Kind> fields, Reader reader) throws Exception {
        Path file = dir.resolve("config.json");
        Files.writeString(file, valid.toString());
        assertNotNull(reader.read(file), "the unchanged file reads");
        List<String> problems = new ArrayList<>();
        for (var e : fields.entrySet()) {
            for (JsonNode bad : wrong(e.getValue())) {
                ObjectNode copy = valid.deepCopy();
                String[] path = e.getKey().split("\\.");
                ObjectNode parent = copy;
                for (int i = 0; i < path.length - 1; i++) parent = (ObjectNode) parent.get(path[i]);
                parent.set(path[path.length - 1], bad);
                Files.writeString(file, copy.toString());
                try {
                    Object read = reader.read(file);
                    problems.add(e.getKey() + " = " + bad + " was read");
                } catch (IllegalArgumentException ex) {
                    String m = ex.getMessage();
                    if (!m.contains(file.toString()) || !m.contains(e.getKey())) {
                        problems.add(e.getKey() + " = " + bad + ": the message names not both file and key: " + m);
                    }
                }
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    static Map<String, Kind> higgsFields() {
        Map<String, Kind> m = new java.util.LinkedHashMap<>();
        for (String k : List.of("use_rq_transformer", "use_audio_out_embed_projector", "encode_whisper_embed", "skip_audio_tower",
                "use_delay_pattern", "encode_audio_in_tokens", "audio_embed_avg")) m.put(k, Kind.BOOL);
        for (String k : List.of("audio_decoder_proj_num_layers", "audio_num_codebooks", "audio_codebook_size", "audio_stream_bos_id",
                "audio_stream_eos_id")) m.put(k, Kind.INT);
        for (String k : List.of("audio_ffn_hidden_size", "audio_ffn_intermediate_size", "audio_in_token_idx", "audio_out_token_idx",
                "audio_out_bos_token_id", "audio_eos_token_id", "pad_token_id")) m.put(k, Kind.LONG);
        m.put("audio_adapter_type", Kind.STRING);
        m.put("audio_dual_ffn_layers", Kind.INT_LIST);
        m.put("text_config", Kind.OBJECT);
        m.put("audio_encoder_config", Kind.OBJECT);
        m.put("text_config.hidden_act", Kind.STRING);
        m.put("text_config.attention_bias", Kind.BOOL);
        m.put("text_config.mlp_bias", Kind.BOOL);
        for (String k : List.of("pretraining_tp", "num_attention_heads", "num_hidden_layers", "num_key_value_heads")) {
            m.put("text_config." + k, Kind.INT);
        }
        for (String k : List.of("hidden_size", "head_dim", "intermediate_size", "vocab_size")) m.put("text_config." + k, Kind.LONG);
        for (String k : List.of("rms_norm_eps", "rope_theta", "initializer_range")) m.put("text_config." + k, Kind.NUMBER);
        m.put("text_config.rope_scaling", Kind.OBJECT);
        m.put("text_config.rope_scaling.rope_type", Kind.STRING);
        for (String k : List.of("factor", "low_freq_factor", "high_freq_factor")) m.put("text_config.rope_scaling." + k, Kind.NUMBER);
        m.put("text_config.rope_scaling.original_max_position_embeddings", Kind.LONG);
        m.put("audio_encoder_config.activation_function", Kind.STRING);
        m.put("audio_encoder_config.scale_embedding", Kind.BOOL);
        for (String k : List.of("num_mel_bins", "encoder_layers", "encoder_attention_heads")) m.put("audio_encoder_config." + k, Kind.INT);
        for (String k : List.of("d_model", "encoder_ffn_dim", "max_source_positions")) m.put("audio_encoder_config." + k, Kind.LONG);
        m.put("audio_encoder_config.init_std", Kind.NUMBER);
        return m;
    }

    @Test
    void higgsConfigJson(@TempDir Path dir) throws Exception {
        checkEveryField(dir, HiggsAudioConfig.preset("tiny").toJson(), higgsFields(), HiggsAudioConfig::fromFile);
    }

    @Test
    void theIssuesExamplesAreErrorsNotDefaults(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.json");
        ObjectNode c = HiggsAudioConfig.preset("tiny").toJson();
        c.put("audio_num_codebooks", "eight");
        Files.writeString(file, c.toString());
        var e = assertThrows(HiggsAudioConfig.ConfigException.class, () -> HiggsAudioConfig.fromFile(file));
        assertEquals(file + ": audio_num_codebooks must be an integer, got \"eight\" (a string)", e.getMessage());
        c = HiggsAudioConfig.preset("tiny").toJson();
        ((ObjectNode) c.get("text_config")).put("hidden_size", 64.5);
        Files.writeString(file, c.toString());
        e = assertThrows(HiggsAudioConfig.ConfigException.class, () -> HiggsAudioConfig.fromFile(file));
        assertEquals(file + ": text_config.hidden_size must be an integer, got 64.5 (a number)", e.getMessage());
        // Broken JSON: one line naming the file and where it breaks (the second line was Jackson's "REDACTED" source)
        Files.writeString(file, "{\n  \"audio_num_codebooks\": 8,\n  \"audio_codebook");
        e = assertThrows(HiggsAudioConfig.ConfigException.class, () -> HiggsAudioConfig.fromFile(file));
        assertTrue(e.getMessage().startsWith(file + " is not valid JSON: "), e.getMessage());
        assertTrue(e.getMessage().endsWith("at line 3, column 18"), e.getMessage());
        assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("REDACTED"), e.getMessage());
        // JSON null is "not set" (Hugging Face writes it): the default applies.
        c = HiggsAudioConfig.preset("tiny").toJson();
        ((ObjectNode) c.get("text_config")).putNull("rope_scaling");
        Files.writeString(file, c.toString());
        assertNull(HiggsAudioConfig.fromFile(file).textConfig().ropeScaling());
    }

    @Test
    void whisperSectionReadOnItsOwn(@TempDir Path dir) throws Exception {
        Map<String, Kind> m = new java.util.LinkedHashMap<>();
        higgsFields().forEach((k, v) -> { if (k.startsWith("audio_encoder_config")) m.put(k, v); });
        checkEveryField(dir, HiggsAudioConfig.preset("tiny").toJson(), m, WhisperEncoderConfig::fromHiggsConfig);
    }

    @Test
    void adapterConfigJson(@TempDir Path dir) throws Exception {
        ObjectNode valid = new LoraConfig(16, 32, 0.05, false, List.of("q_proj", "v_proj"), null, List.of(0, 1), List.of("lm_head"),
                List.of("audio_encoder_proj"), "base").toAdapterConfig();
        Map<String, Kind> m = new java.util.LinkedHashMap<>();
        m.put("r", Kind.INT);
        m.put("lora_alpha", Kind.NUMBER);
        m.put("lora_dropout", Kind.NUMBER);
        for (String k : List.of("use_rslora", "use_dora", "fan_in_fan_out")) m.put(k, Kind.BOOL);
        for (String k : List.of("peft_type", "bias", "base_model_name_or_path")) m.put(k, Kind.STRING);
        m.put("rank_pattern", Kind.OBJECT);
        m.put("alpha_pattern", Kind.OBJECT);
        m.put("layers_to_transform", Kind.INT_LIST);
        m.put("modules_to_save", Kind.STRING_LIST);
        m.put("exclude_modules", Kind.STRING_LIST);
        checkEveryField(dir, valid, m, LoraModel::readConfig);
        // target_modules: a list of names or a regex string, nothing else
        for (JsonNode bad : List.of(JSON.getNodeFactory().numberNode(3), JSON.getNodeFactory().arrayNode().add(2), JSON.getNodeFactory().objectNode())) {
            ObjectNode copy = valid.deepCopy();
            copy.set("target_modules", bad);
            Path file = dir.resolve("adapter_config.json");
            Files.writeString(file, copy.toString());
            var e = assertThrows(IllegalArgumentException.class, () -> LoraModel.readConfig(file));
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("target_modules"), e.getMessage());
        }
    }

    @Test
    void theIssuesAdapterExample(@TempDir Path dir) throws Exception {
        ObjectNode c = LoraConfig.of(16, 32, 0, "attention", List.of()).toAdapterConfig();
        c.put("r", "sixteen");
        Path file = dir.resolve("adapter_config.json");
        Files.writeString(file, c.toString());
        var e = assertThrows(IllegalArgumentException.class, () -> LoraModel.readConfig(file));
        assertEquals(file + ": r must be an integer, got \"sixteen\" (a string)", e.getMessage());
        c.remove("r");
        Files.writeString(file, c.toString());
        assertEquals(file + ": r is missing", assertThrows(IllegalArgumentException.class, () -> LoraModel.readConfig(file)).getMessage());
    }

    static ObjectNode tokenizerJson() {
        ObjectNode c = JSON.createObjectNode();
        c.put("D", 8).put("encoder_dim", 2).put("decoder_dim", 32).put("sample_rate", 24000).put("semantic_sample_rate", 16000)
                .put("bins", 16).put("n_q", 8).put("codebook_dim", 4).put("vq_scale", 1).put("downsample_mode", "step_down")
                .put("semantic_techer", "hubert_base_general");
        ArrayNode r = c.putArray("ratios");
        for (int x : new int[] {8, 5, 4, 2, 3}) r.add(x);
        ObjectNode h = c.putObject("semantic_model_config");
        h.put("hidden_size", 16).put("num_hidden_layers", 2).put("num_attention_heads", 2).put("intermediate_size", 32)
                .put("num_conv_pos_embeddings", 16).put("num_conv_pos_embedding_groups", 4).put("layer_norm_eps", 1e-5)
                .put("mask_time_prob", 0.05).put("mask_feature_prob", 0.0).put("feat_extract_norm", "group")
                .put("do_stable_layer_norm", false).put("conv_bias", false).put("feat_proj_layer_norm", true)
                .put("conv_pos_batch_norm", false).put("hidden_act", "gelu").put("feat_extract_activation", "gelu");
        for (var e : Map.of("conv_dim", new int[] {8, 8, 8, 8, 8, 8, 8}, "conv_kernel", new int[] {10, 3, 3, 3, 3, 2, 2},
                "conv_stride", new int[] {5, 2, 2, 2, 2, 2, 2}).entrySet()) {
            ArrayNode a = h.putArray(e.getKey());
            for (int x : e.getValue()) a.add(x);
        }
        return c;
    }

    @Test
    void audioTokenizerConfigJson(@TempDir Path dir) throws Exception {
        assertEquals(AudioTokenizerConfig.tiny(), AudioTokenizerConfig.fromJson(tokenizerJson()), "the fixture is the tiny tokenizer");
        Map<String, Kind> m = new java.util.LinkedHashMap<>();
        for (String k : List.of("D", "encoder_dim", "decoder_dim", "sample_rate", "semantic_sample_rate", "n_q", "codebook_dim", "vq_scale")) {
            m.put(k, Kind.INT);
        }
        m.put("downsample_mode", Kind.STRING);
        m.put("semantic_techer", Kind.STRING);
        m.put("ratios", Kind.INT_LIST);
        m.put("semantic_model_config", Kind.OBJECT);
        String h = "semantic_model_config.";
        for (String k : List.of("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "num_conv_pos_embeddings",
                "num_conv_pos_embedding_groups")) m.put(h + k, Kind.INT);
        for (String k : List.of("layer_norm_eps", "mask_time_prob", "mask_feature_prob")) m.put(h + k, Kind.NUMBER);
        for (String k : List.of("do_stable_layer_norm", "conv_bias", "feat_proj_layer_norm", "conv_pos_batch_norm")) m.put(h + k, Kind.BOOL);
        for (String k : List.of("feat_extract_norm", "hidden_act", "feat_extract_activation")) m.put(h + k, Kind.STRING);
        for (String k : List.of("conv_dim", "conv_kernel", "conv_stride")) m.put(h + k, Kind.INT_LIST);
        checkEveryField(dir, tokenizerJson(), m, AudioTokenizerConfig::load);
        // bins: an integer; anything else is the finite scalar quantiser's list, which is refused by name
        ObjectNode c = tokenizerJson();
        c.put("bins", "16");
        Files.writeString(dir.resolve("config.json"), c.toString());
        var e = assertThrows(IllegalArgumentException.class, () -> AudioTokenizerConfig.load(dir.resolve("config.json")));
        assertTrue(e.getMessage().contains(dir.resolve("config.json").toString()) && e.getMessage().contains("bins"), e.getMessage());
    }
}
