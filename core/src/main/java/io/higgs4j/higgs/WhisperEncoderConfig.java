package io.higgs4j.higgs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.higgs.HiggsAudioConfig.ConfigException;
import io.higgs4j.json.JsonFields;

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
            throw new ConfigException("audio_encoder_config has a non-positive size: num_mel_bins " + numMelBins + ", d_model "
                    + dModel + ", encoder_layers " + encoderLayers + ", encoder_attention_heads " + encoderAttentionHeads
                    + ", encoder_ffn_dim " + encoderFfnDim + ", max_source_positions " + maxSourcePositions);
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
        if (!Files.isRegularFile(p)) throw new ConfigException("no config.json at " + p);
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(p.toFile());
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new ConfigException(p + " is not valid JSON: " + e.getOriginalMessage());
        }
        try {
            JsonFields fields = JsonFields.of(root, ConfigException::new);
            return fromFields(fields.object("audio_encoder_config")
                    .orElseThrow(() -> new ConfigException("audio_encoder_config is missing")));
        } catch (ConfigException e) {
            throw new ConfigException(p + ": " + e.getMessage());
        }
    }

    /** The encoder keys of a Whisper config object, with Hugging Face WhisperConfig's defaults. */
    public static WhisperEncoderConfig fromJson(JsonNode c) {
        return fromFields(JsonFields.of(c, m -> new ConfigException("audio_encoder_config: " + m)));
    }

    /** As {@link #fromJson}, the fields typed strictly (a wrong JSON type is an error naming the key). */
    public static WhisperEncoderConfig fromFields(JsonFields c) {
        String act = c.stringOr("activation_function", "gelu");
        if (!act.equals("gelu")) {
            throw new ConfigException(c.name("activation_function") + " '" + act + "' is not supported (only gelu)");
        }
        if (c.boolOr("scale_embedding", false)) {
            throw new ConfigException(c.name("scale_embedding") + " = true is not supported");
        }
        return new WhisperEncoderConfig(
                c.intOr("num_mel_bins", 80),
                c.longOr("d_model", 384),
                c.intOr("encoder_layers", 4),
                c.intOr("encoder_attention_heads", 6),
                c.longOr("encoder_ffn_dim", 1536),
                c.longOr("max_source_positions", 1500),
                1e-5,
                c.doubleOr("init_std", 0.02));
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
