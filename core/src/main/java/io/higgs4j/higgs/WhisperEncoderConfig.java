package io.higgs4j.higgs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.higgs.HiggsAudioConfig.ConfigException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The Whisper encoder behind Higgs Audio's {@code audio_tower}, read from {@code audio_encoder_config} of a Higgs
 * config.json (or from a Whisper config.json, which uses the same keys). Only GELU is supported; LayerNorm eps is
 * torch's default 1e-5, as in Hugging Face Whisper. Input features are [B, numMelBins, 2 * maxSourcePositions].
 */
public record WhisperEncoderConfig(int numMelBins, long dModel, int encoderLayers, int encoderAttentionHeads,
                                   long encoderFfnDim, long maxSourcePositions, double layerNormEps, double initStd) {

    public WhisperEncoderConfig {
        if (numMelBins < 1 || dModel < 1 || encoderLayers < 0 || encoderAttentionHeads < 1 || encoderFfnDim < 1 || maxSourcePositions < 1) {
            throw new ConfigException("audio_encoder_config has a non-positive size: " + this);
        }
        if (dModel % encoderAttentionHeads != 0) {
            throw new ConfigException("audio_encoder_config.d_model (" + dModel + ") must be a multiple of encoder_attention_heads ("
                    + encoderAttentionHeads + ")");
        }
    }

    /** Size of one attention head: d_model / encoder_attention_heads. */
    public long headDim() {
        return dModel / encoderAttentionHeads;
    }

    /** Mel frames of a full (padded) input: 2 * max_source_positions (3000 for 30 s). */
    public long inputFrames() {
        return 2 * maxSourcePositions;
    }

    /** Tests and the demo: 128 mel bins as the 3B config, d_model 32, 2 layers of 2 heads, ffn 64, 1500 positions. */
    public static WhisperEncoderConfig tiny() {
        return new WhisperEncoderConfig(128, 32, 2, 2, 64, 1500, 1e-5, 0.02);
    }

    /** The 3B config's numbers (Whisper large-v3 encoder): 128 mel bins, d_model 1280, 32 layers, 20 heads, ffn 5120. */
    public static WhisperEncoderConfig largeV3() {
        return new WhisperEncoderConfig(128, 1280, 32, 20, 5120, 1500, 1e-5, 0.02);
    }

    /** {@code audio_encoder_config} of a Higgs config.json (file or model directory). */
    public static WhisperEncoderConfig fromHiggsConfig(Path configJson) throws IOException {
        Path p = Files.isDirectory(configJson) ? configJson.resolve("config.json") : configJson;
        JsonNode root = new ObjectMapper().readTree(p.toFile());
        JsonNode enc = root.path("audio_encoder_config");
        if (!enc.isObject()) throw new ConfigException(p + ": audio_encoder_config is missing");
        try {
            return fromJson(enc);
        } catch (ConfigException e) {
            throw new ConfigException(p + ": " + e.getMessage());
        }
    }

    /** The encoder keys of a Whisper config object, with Hugging Face WhisperConfig's defaults. */
    public static WhisperEncoderConfig fromJson(JsonNode c) {
        String act = c.path("activation_function").asText("gelu");
        if (!act.equals("gelu")) {
            throw new ConfigException("audio_encoder_config.activation_function '" + act + "' is not supported (only gelu)");
        }
        if (c.path("scale_embedding").asBoolean(false)) {
            throw new ConfigException("audio_encoder_config.scale_embedding = true is not supported");
        }
        return new WhisperEncoderConfig(
                c.path("num_mel_bins").asInt(80),
                c.path("d_model").asLong(384),
                c.path("encoder_layers").asInt(4),
                c.path("encoder_attention_heads").asInt(6),
                c.path("encoder_ffn_dim").asLong(1536),
                c.path("max_source_positions").asLong(1500),
                1e-5,
                c.path("init_std").asDouble(0.02));
    }

    /** The keys {@link #fromJson} reads, as Hugging Face's WhisperConfig writes them. */
    public com.fasterxml.jackson.databind.node.ObjectNode toJson() {
        var n = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
        n.put("model_type", "higgs_audio_encoder");
        n.put("num_mel_bins", numMelBins);
        n.put("d_model", dModel);
        n.put("encoder_layers", encoderLayers);
        n.put("encoder_attention_heads", encoderAttentionHeads);
        n.put("encoder_ffn_dim", encoderFfnDim);
        n.put("max_source_positions", maxSourcePositions);
        n.put("activation_function", "gelu");
        n.put("scale_embedding", false);
        n.put("init_std", initStd);
        return n;
    }
}
