package io.higgs4j.higgs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.higgs4j.json.JsonFields;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * The Higgs Audio v2 configuration, read from a Hugging Face config.json (top level, {@code text_config},
 * {@code audio_encoder_config}) with the reference's defaults. Options we do not implement are refused with a
 * message naming the key.
 */
public record HiggsAudioConfig(
        LlamaConfig textConfig,
        String audioAdapterType,
        Set<Integer> audioDualFfnLayers,
        int audioNumCodebooks,
        int audioCodebookSize,
        int audioStreamBosId,
        int audioStreamEosId,
        boolean useDelayPattern,
        boolean encodeAudioInTokens,
        boolean encodeWhisperEmbed,
        boolean audioEmbedAvg,
        long audioFfnIntermediateSize,
        long audioInTokenIdx,
        long audioOutTokenIdx,
        long audioOutBosTokenId,
        long audioEosTokenId,
        long padTokenId,
        WhisperEncoderConfig audioEncoderConfig) {

    public static final List<String> ADAPTER_TYPES = List.of("stack", "dual_ffn", "dual_ffn_fast_forward");

    /** The Llama text backbone ({@code text_config}). */
    public record LlamaConfig(long hiddenSize, int numHiddenLayers, int numAttentionHeads, int numKeyValueHeads,
                              long headDim, long intermediateSize, long vocabSize, double rmsNormEps, double ropeTheta,
                              RopeScaling ropeScaling, double initializerRange) {
        public LlamaConfig {
            if (hiddenSize < 1 || numHiddenLayers < 1 || numAttentionHeads < 1 || numKeyValueHeads < 1 || headDim < 1
                    || intermediateSize < 1 || vocabSize < 1) {
                throw new ConfigException("text_config has a non-positive size: hidden_size " + hiddenSize + ", num_hidden_layers "
                        + numHiddenLayers + ", num_attention_heads " + numAttentionHeads + ", num_key_value_heads " + numKeyValueHeads
                        + ", head_dim " + headDim + ", intermediate_size " + intermediateSize + ", vocab_size " + vocabSize);
            }
            if (!(rmsNormEps > 0) || !(ropeTheta > 0)) {
                throw new ConfigException("text_config.rms_norm_eps and rope_theta must be > 0, got " + rmsNormEps + " and " + ropeTheta);
            }
            if (numAttentionHeads % numKeyValueHeads != 0) {
                throw new ConfigException("text_config.num_attention_heads (" + numAttentionHeads
                        + ") must be a multiple of num_key_value_heads (" + numKeyValueHeads + ")");
            }
            if (headDim % 2 != 0) throw new ConfigException("text_config.head_dim must be even, got " + headDim);
        }
    }

    /** llama3 RoPE frequency scaling; null in {@link LlamaConfig#ropeScaling()} means plain RoPE. */
    public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor, long originalMaxPositionEmbeddings) {}

    /** A configuration the implementation cannot honour; the message names the key. */
    public static final class ConfigException extends IllegalArgumentException {
        public ConfigException(String message) { super(message); }
    }

    /** Without an audio encoder configuration (no Whisper). */
    public HiggsAudioConfig(LlamaConfig textConfig, String audioAdapterType, Set<Integer> audioDualFfnLayers, int audioNumCodebooks,
                            int audioCodebookSize, int audioStreamBosId, int audioStreamEosId, boolean useDelayPattern,
                            boolean encodeAudioInTokens, boolean encodeWhisperEmbed, boolean audioEmbedAvg,
                            long audioFfnIntermediateSize, long audioInTokenIdx, long audioOutTokenIdx, long audioOutBosTokenId,
                            long audioEosTokenId, long padTokenId) {
        this(textConfig, audioAdapterType, audioDualFfnLayers, audioNumCodebooks, audioCodebookSize, audioStreamBosId,
                audioStreamEosId, useDelayPattern, encodeAudioInTokens, encodeWhisperEmbed, audioEmbedAvg, audioFfnIntermediateSize,
                audioInTokenIdx, audioOutTokenIdx, audioOutBosTokenId, audioEosTokenId, padTokenId, null);
    }

    public HiggsAudioConfig {
        if (!ADAPTER_TYPES.contains(audioAdapterType)) {
            throw new ConfigException("audio_adapter_type '" + audioAdapterType + "' is not supported; expected one of " + ADAPTER_TYPES);
        }
        for (int l : audioDualFfnLayers) {
            if (l < 0 || l >= textConfig.numHiddenLayers()) {
                throw new ConfigException("audio_dual_ffn_layers lists layer " + l + " but text_config has "
                        + textConfig.numHiddenLayers() + " layers");
            }
        }
        if (audioNumCodebooks < 1) throw new ConfigException("audio_num_codebooks must be >= 1, got " + audioNumCodebooks);
        // + 2: the stream BOS and EOS rows; audioVocabSize() and the code tensors index them as ints
        if (audioCodebookSize < 1 || audioCodebookSize > Integer.MAX_VALUE - 2) {
            throw new ConfigException("audio_codebook_size must be in [1, " + (Integer.MAX_VALUE - 2) + "], got " + audioCodebookSize);
        }
        checkStreamCode("audio_stream_bos_id", audioStreamBosId, audioCodebookSize);
        checkStreamCode("audio_stream_eos_id", audioStreamEosId, audioCodebookSize);
        if (audioStreamBosId == audioStreamEosId) {
            throw new ConfigException("audio_stream_bos_id and audio_stream_eos_id must differ, both are " + audioStreamBosId);
        }
        if (audioFfnIntermediateSize < 1) {
            throw new ConfigException("audio_ffn_intermediate_size must be >= 1, got " + audioFfnIntermediateSize);
        }
        if (encodeWhisperEmbed && audioEncoderConfig == null) {
            throw new ConfigException("encode_whisper_embed = true needs an audio_encoder_config (the Whisper encoder)");
        }
        audioDualFfnLayers = Set.copyOf(audioDualFfnLayers);
    }

    /** The stream BOS and EOS are codes of each codebook's embedding, which has audio_codebook_size + 2 rows. */
    private static void checkStreamCode(String key, int id, int codebookSize) {
        if (id < 0 || id >= codebookSize + 2) {
            throw new ConfigException(key + " must be a code in [0, audio_codebook_size + 2) = [0, " + (codebookSize + 2) + "), got " + id);
        }
    }

    /** Rows of the audio codebook embedding and of the audio head: K * (C + 2) (codes plus stream BOS and EOS). */
    public long audioVocabSize() {
        return (long) audioNumCodebooks * (audioCodebookSize + 2L);
    }

    /** A layer listed in audio_dual_ffn_layers of a dual-FFN adapter: audio positions take its audio norms and FFN. */
    public boolean isDualFfnLayer(int layer) {
        return !audioAdapterType.equals("stack") && audioDualFfnLayers.contains(layer);
    }

    /** An unlisted layer of dual_ffn_fast_forward: audio positions pass through it unchanged. */
    public boolean isFastForwardLayer(int layer) {
        return audioAdapterType.equals("dual_ffn_fast_forward") && !audioDualFfnLayers.contains(layer);
    }

    // ---- reading ----

    /** Reads a config.json, or the one inside a checkpoint directory; refuses what higgs4j does not implement. */
    public static HiggsAudioConfig fromFile(Path configJson) throws IOException {
        Path p = Files.isDirectory(configJson) ? configJson.resolve("config.json") : configJson;
        if (!Files.isRegularFile(p)) throw new ConfigException("no config.json at " + p);
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(p.toFile());
        } catch (IOException e) {
            throw new ConfigException(p + " is not valid JSON: " + io.higgs4j.json.JsonFields.syntaxError(e));
        }
        try {
            return fromJson(root);
        } catch (ConfigException e) {
            throw new ConfigException(p + ": " + e.getMessage());
        }
    }

    /**
     * Reads a parsed config.json; refuses options higgs4j does not implement, naming them. Every field read must have
     * its JSON type; a wrong one is an error naming the key (never a default).
     */
    public static HiggsAudioConfig fromJson(JsonNode json) {
        JsonFields root = JsonFields.of(json, ConfigException::new);
        refuseTrue(root, "use_rq_transformer", "the RQ-transformer audio decoder is not supported");
        refuseTrue(root, "use_audio_out_embed_projector", "the audio-out embedding projector is not supported");
        if (flagOrCount(root, "use_audio_out_self_attention")) {
            throw new ConfigException("use_audio_out_self_attention is not supported (audio self-attention layers)");
        }
        if (root.intOr("audio_decoder_proj_num_layers", 0) > 0) {
            throw new ConfigException("audio_decoder_proj_num_layers > 0 is not supported (decoder projector layers)");
        }
        LlamaConfig llama = llama(root.requiredObject("text_config"));
        List<Integer> layers = root.ints("audio_dual_ffn_layers");
        Set<Integer> dual = layers == null ? new TreeSet<>() : new TreeSet<>(layers);
        boolean whisper = root.boolOr("encode_whisper_embed", true);
        WhisperEncoderConfig encoder = root.object("audio_encoder_config").map(WhisperEncoderConfig::fromFields).orElse(null);
        boolean skipTower = root.boolOr("skip_audio_tower", false);
        if (whisper && skipTower) {
            throw new ConfigException("encode_whisper_embed = true with skip_audio_tower = true: the model has no audio tower");
        }
        long audioHidden = root.longOr("audio_ffn_hidden_size", llama.hiddenSize());
        if (audioHidden != llama.hiddenSize()) {
            throw new ConfigException("audio_ffn_hidden_size (" + audioHidden + ") must equal text_config.hidden_size (" + llama.hiddenSize() + ")");
        }
        return new HiggsAudioConfig(llama,
                root.stringOr("audio_adapter_type", "stack"),
                dual,
                root.intOr("audio_num_codebooks", 12),
                root.intOr("audio_codebook_size", 1024),
                root.intOr("audio_stream_bos_id", 1024),
                root.intOr("audio_stream_eos_id", 1025),
                root.boolOr("use_delay_pattern", false),
                root.boolOr("encode_audio_in_tokens", false),
                whisper,
                root.boolOr("audio_embed_avg", false),
                root.longOr("audio_ffn_intermediate_size", llama.intermediateSize()),
                root.longOr("audio_in_token_idx", 128015),
                root.longOr("audio_out_token_idx", 128016),
                root.longOr("audio_out_bos_token_id", 128013),
                root.longOr("audio_eos_token_id", 128012),
                root.longOr("pad_token_id", 128001),
                encoder);
    }

    private static void refuseTrue(JsonFields root, String key, String why) {
        if (root.boolOr(key, false)) throw new ConfigException(key + " = true: " + why);
    }

    /** The reference writes use_audio_out_self_attention as a boolean or as a 0/1 count. */
    private static boolean flagOrCount(JsonFields root, String key) {
        JsonNode v = root.raw(key);
        if (v == null) return false;
        if (v.isBoolean()) return v.booleanValue();
        return root.longOr(key, 0) != 0;
    }

    private static LlamaConfig llama(JsonFields t) {
        String act = t.stringOr("hidden_act", "silu");
        if (!act.equals("silu")) throw new ConfigException("text_config.hidden_act '" + act + "' is not supported (only silu)");
        if (t.boolOr("attention_bias", false)) throw new ConfigException("text_config.attention_bias = true is not supported");
        if (t.boolOr("mlp_bias", false)) throw new ConfigException("text_config.mlp_bias = true is not supported");
        if (t.intOr("pretraining_tp", 1) != 1) throw new ConfigException("text_config.pretraining_tp != 1 is not supported");
        long hidden = t.longOr("hidden_size", 4096);
        int heads = t.intOr("num_attention_heads", 32);
        if (heads < 1) throw t.error("num_attention_heads", "must be >= 1, got " + heads);
        RopeScaling scaling = null;
        JsonFields rs = t.object("rope_scaling").orElse(null);
        if (rs != null) {
            String type = rs.stringOr("rope_type", rs.stringOr("type", "default"));
            switch (type.toLowerCase(Locale.ROOT)) {
                case "llama3" -> scaling = new RopeScaling(rs.doubleOr("factor", 8.0), rs.doubleOr("low_freq_factor", 1.0),
                        rs.doubleOr("high_freq_factor", 4.0), rs.longOr("original_max_position_embeddings", 8192));
                case "default" -> scaling = null;
                default -> throw new ConfigException("text_config.rope_scaling.rope_type '" + type + "' is not supported (llama3 or default)");
            }
        }
        int kvHeads = t.intOr("num_key_value_heads", heads);
        if (kvHeads < 1) throw t.error("num_key_value_heads", "must be >= 1, got " + kvHeads);
        return new LlamaConfig(hidden,
                t.intOr("num_hidden_layers", 32),
                heads,
                kvHeads,
                t.longOr("head_dim", hidden / heads),
                t.longOr("intermediate_size", 11008),
                t.longOr("vocab_size", 32000),
                t.doubleOr("rms_norm_eps", 1e-6),
                t.doubleOr("rope_theta", 10000.0),
                scaling,
                t.doubleOr("initializer_range", 0.02));
    }

    // ---- writing (a config.json the reference can read) ----

    /** This configuration as a config.json the reference can read. */
    public ObjectNode toJson() {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        root.putArray("architectures").add("HiggsAudioModel");
        root.put("model_type", "higgs_audio");
        root.put("audio_adapter_type", audioAdapterType);
        ArrayNode layers = root.putArray("audio_dual_ffn_layers");
        new TreeSet<>(audioDualFfnLayers).forEach(layers::add);
        root.put("audio_num_codebooks", audioNumCodebooks);
        root.put("audio_codebook_size", audioCodebookSize);
        root.put("audio_stream_bos_id", audioStreamBosId);
        root.put("audio_stream_eos_id", audioStreamEosId);
        root.put("use_delay_pattern", useDelayPattern);
        root.put("encode_audio_in_tokens", encodeAudioInTokens);
        root.put("encode_whisper_embed", encodeWhisperEmbed);
        root.put("skip_audio_tower", !encodeWhisperEmbed);
        root.put("audio_embed_avg", audioEmbedAvg);
        root.put("use_audio_out_embed_projector", false);
        root.put("use_audio_out_self_attention", 0);
        root.put("audio_decoder_proj_num_layers", 0);
        root.put("use_rq_transformer", false);
        root.put("hidden_size", textConfig.hiddenSize());
        root.put("audio_ffn_hidden_size", textConfig.hiddenSize());
        root.put("audio_ffn_intermediate_size", audioFfnIntermediateSize);
        root.put("audio_in_token_idx", audioInTokenIdx);
        root.put("audio_out_token_idx", audioOutTokenIdx);
        root.put("audio_out_bos_token_id", audioOutBosTokenId);
        root.put("audio_eos_token_id", audioEosTokenId);
        root.put("pad_token_id", padTokenId);
        if (audioEncoderConfig != null) root.set("audio_encoder_config", audioEncoderConfig.toJson());
        ObjectNode t = root.putObject("text_config");
        LlamaConfig c = textConfig;
        t.put("model_type", "llama");
        t.put("hidden_size", c.hiddenSize());
        t.put("num_hidden_layers", c.numHiddenLayers());
        t.put("num_attention_heads", c.numAttentionHeads());
        t.put("num_key_value_heads", c.numKeyValueHeads());
        t.put("head_dim", c.headDim());
        t.put("intermediate_size", c.intermediateSize());
        t.put("vocab_size", c.vocabSize());
        t.put("rms_norm_eps", c.rmsNormEps());
        t.put("rope_theta", c.ropeTheta());
        t.put("hidden_act", "silu");
        t.put("attention_bias", false);
        t.put("mlp_bias", false);
        t.put("initializer_range", c.initializerRange());
        if (c.ropeScaling() != null) {
            ObjectNode rs = t.putObject("rope_scaling");
            rs.put("rope_type", "llama3");
            rs.put("factor", c.ropeScaling().factor());
            rs.put("low_freq_factor", c.ropeScaling().lowFreqFactor());
            rs.put("high_freq_factor", c.ropeScaling().highFreqFactor());
            rs.put("original_max_position_embeddings", c.ropeScaling().originalMaxPositionEmbeddings());
        }
        return root;
    }

    // ---- presets ----

    public static final List<String> PRESETS = List.of("tiny", "small");

    /**
     * tiny: 2 layers of hidden 64 and a 1024-token vocabulary (the special tokens moved to 1001-1016, mirroring
     * 128001-128016), for tests and the demo; small: 4 layers of hidden 512 and a 4096-token vocabulary, for
     * benchmarks on a laptop. Both keep the 3B model's structure: 8 codebooks of 1024, every layer dual-FFN.
     */
    public static HiggsAudioConfig preset(String name) {
        RopeScaling llama3 = new RopeScaling(32.0, 1.0, 4.0, 8192);
        return switch (name) {
            case "tiny" -> of(new LlamaConfig(64, 2, 4, 2, 16, 128, 1024, 1e-5, 500000.0, llama3, 0.02), 128, 127000);
            case "small" -> of(new LlamaConfig(512, 4, 8, 2, 64, 1408, 4096, 1e-5, 500000.0, llama3, 0.02), 1408, 124000);
            default -> throw new ConfigException("unknown preset '" + name + "'; expected one of " + PRESETS);
        };
    }

    private static HiggsAudioConfig of(LlamaConfig text, long audioIntermediate, long idShift) {
        Set<Integer> all = new TreeSet<>();
        for (int i = 0; i < text.numHiddenLayers(); i++) all.add(i);
        return new HiggsAudioConfig(text, "dual_ffn_fast_forward", all, 8, 1024, 1024, 1025, true, true, false, false,
                audioIntermediate, 128015 - idShift, 128016 - idShift, 128013 - idShift, 128012 - idShift, 128001 - idShift,
                text.hiddenSize() <= 64 ? WhisperEncoderConfig.tiny() : null);
    }

    /** A preset name, a config.json file, or a model directory holding one. */
    public static HiggsAudioConfig resolve(String presetOrPath) throws IOException {
        if (PRESETS.contains(presetOrPath)) return preset(presetOrPath);
        Path p = Path.of(presetOrPath);
        if (!Files.exists(p)) {
            throw new ConfigException("'" + presetOrPath + "' is neither a preset (" + String.join(", ", PRESETS)
                    + ") nor an existing config.json or model directory");
        }
        return fromFile(p);
    }

    /** Copy with Whisper conditioning switched on or off (on needs an audio_encoder_config). */
    public HiggsAudioConfig withWhisper(boolean on) {
        return new HiggsAudioConfig(textConfig, audioAdapterType, audioDualFfnLayers, audioNumCodebooks, audioCodebookSize,
                audioStreamBosId, audioStreamEosId, useDelayPattern, encodeAudioInTokens, on, audioEmbedAvg,
                audioFfnIntermediateSize, audioInTokenIdx, audioOutTokenIdx, audioOutBosTokenId, audioEosTokenId, padTokenId,
                audioEncoderConfig);
    }

    /** Copy with another adapter type and dual-FFN layer list (tests). */
    public HiggsAudioConfig withAdapter(String type, Set<Integer> dualLayers) {
        return new HiggsAudioConfig(textConfig, type, dualLayers, audioNumCodebooks, audioCodebookSize, audioStreamBosId,
                audioStreamEosId, useDelayPattern, encodeAudioInTokens, encodeWhisperEmbed, audioEmbedAvg,
                audioFfnIntermediateSize, audioInTokenIdx, audioOutTokenIdx, audioOutBosTokenId, audioEosTokenId, padTokenId,
                audioEncoderConfig);
    }

    static List<Integer> sorted(Set<Integer> s) {
        return new ArrayList<>(new TreeSet<>(s));
    }
}
