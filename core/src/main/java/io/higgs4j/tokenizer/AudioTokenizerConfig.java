package io.higgs4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.higgs.HiggsAudioConfig.ConfigException;
import io.higgs4j.json.JsonFields;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The Higgs audio tokenizer (xcodec-style), as its config.json gives it ({@code D}, {@code codebook_dim},
 * {@code ratios}, {@code sample_rate}, {@code bins}, {@code n_q}, {@code semantic_techer}) plus the sizes the reference
 * code fixes: the acoustic encoder starts at 64 channels ({@code n_filters} is not used by the reference), the acoustic
 * decoder at 1024, the semantic branch is HuBERT-base at 16 kHz, and the quantiser works in D + 768 dimensions.
 * Frames come at sampleRate / prod(ratios) per second (25 Hz for 24 kHz and ratios 8·5·4·2·3).
 */
public record AudioTokenizerConfig(int encoderDim, int latentDim, int decoderDim, int[] ratios, int sampleRate, int semanticSampleRate,
                                   int bins, int nQ, int codebookDim, HubertConfig semantic) {

    public AudioTokenizerConfig {
        if (ratios.length == 0 || Arrays.stream(ratios).anyMatch(r -> r < 1)) {
            throw new ConfigException("audio tokenizer ratios must be positive: " + Arrays.toString(ratios));
        }
        if (decoderDim >> ratios.length < 1) {
            throw new ConfigException("audio tokenizer decoder width " + decoderDim + " cannot be halved " + ratios.length + " times");
        }
        if (sampleRate < 1 || semanticSampleRate < 1) {
            throw new ConfigException("audio tokenizer sample rates must be positive: sample_rate " + sampleRate
                    + ", semantic_sample_rate " + semanticSampleRate);
        }
        if (bins < 2 || nQ < 1 || codebookDim < 1 || latentDim < 1 || encoderDim < 1) {
            throw new ConfigException("audio tokenizer sizes must be positive: bins " + bins + ", n_q " + nQ + ", codebook_dim "
                    + codebookDim + ", D " + latentDim);
        }
        long hop = 1;
        for (int ratio : ratios) {
            hop *= ratio;
            if (hop > Integer.MAX_VALUE) throw new ConfigException("audio tokenizer ratios multiply past 2^31: " + Arrays.toString(ratios));
        }
        if (hop * semanticSampleRate < (long) semantic.hop() * sampleRate) {
            throw new ConfigException("audio tokenizer: hop " + hop + " at " + sampleRate + " Hz is shorter than one HuBERT frame ("
                    + semantic.hop() + " samples at " + semanticSampleRate + " Hz)");
        }
    }

    /** The released tokenizer's numbers, as its config.json gives them. */
    public static AudioTokenizerConfig v2() {
        return new AudioTokenizerConfig(64, 256, 1024, new int[] {8, 5, 4, 2, 3}, 24000, 16000, 1024, 8, 64, HubertConfig.base());
    }

    /** Tests: the released geometry (24 kHz, hop 960, 25 Hz, 8 codebooks) with narrow layers and 16 codes a book. */
    public static AudioTokenizerConfig tiny() {
        return new AudioTokenizerConfig(2, 8, 32, new int[] {8, 5, 4, 2, 3}, 24000, 16000, 16, 8, 4, HubertConfig.tiny());
    }

    /** Input samples per code frame (960). */
    public int hopLength() {
        int h = 1;
        for (int r : ratios) h *= r;
        return h;
    }

    /** Code frames per second, ceil(sampleRate / hop) as the reference computes it (25). */
    public int frameRate() {
        return (sampleRate + hopLength() - 1) / hopLength();
    }

    /** Every how many HuBERT frames one is kept: hop / (sampleRate / semanticSampleRate) / 320 (2). */
    public int semanticDownsample() {
        return (int) (hopLength() / ((double) sampleRate / semanticSampleRate) / semantic.hop());
    }

    /** Width of the fused latent that is quantised: D + HuBERT's hidden size (1024). */
    public int quantizerDim() {
        return latentDim + semantic.hiddenSize();
    }

    /** config.json of a tokenizer directory (or the file itself). */
    public static AudioTokenizerConfig load(Path configJson) throws IOException {
        Path p = Files.isDirectory(configJson) ? configJson.resolve("config.json") : configJson;
        if (!Files.isRegularFile(p)) throw new ConfigException("audio tokenizer config " + p + " does not exist");
        JsonNode c;
        try {
            c = new ObjectMapper().readTree(p.toFile());
        } catch (IOException e) {
            throw new ConfigException(p + ": not valid JSON: " + io.higgs4j.json.JsonFields.syntaxError(e));
        }
        try {
            return fromJson(c);
        } catch (ConfigException e) {
            throw new ConfigException(p + ": " + e.getMessage());
        }
    }

    /**
     * The keys of the reference's HiggsAudioTokenizer constructor; only what the released tokenizer uses is accepted.
     * Three optional keys describe what the reference fixes in code, for smaller tokenizers (tests): {@code encoder_dim}
     * (64), {@code decoder_dim} (1024) and {@code semantic_model_config} (a Hugging Face HubertConfig object; HuBERT-base).
     */
    public static AudioTokenizerConfig fromJson(JsonNode json) {
        JsonFields c = JsonFields.of(json, ConfigException::new);
        String teacher = c.stringOr("semantic_techer", "hubert_base_general");
        if (!teacher.equals("hubert_base_general") && !teacher.equals("hubert_base")) {
            throw new ConfigException("semantic_techer '" + teacher + "' is not supported (hubert_base_general, hubert_base)");
        }
        JsonNode bins = c.raw("bins");
        if (bins != null && !bins.isIntegralNumber()) {
            throw new ConfigException("bins must be an integer (the finite scalar quantiser is not supported), got " + JsonFields.describe(bins));
        }
        if (c.intOr("vq_scale", 1) != 1) throw new ConfigException("vq_scale other than 1 is not supported");
        String downsample = c.stringOr("downsample_mode", "step_down");
        if (!downsample.equals("step_down")) {
            throw new ConfigException("downsample_mode '" + downsample + "' is not supported (step_down)");
        }
        int[] ratios = c.intsOr("ratios", new int[] {8, 5, 4, 2});
        int d = c.intOr("D", 128);
        int semanticRate = c.intOr("semantic_sample_rate", 16000);
        HubertConfig semantic = c.object("semantic_model_config").map(HubertConfig::fromFields).orElse(HubertConfig.base());
        return new AudioTokenizerConfig(c.intOr("encoder_dim", 64), d, c.intOr("decoder_dim", 1024), ratios,
                c.intOr("sample_rate", 16000), semanticRate, c.intOr("bins", 1024), c.intOr("n_q", 8),
                c.intOr("codebook_dim", d + semantic.hiddenSize()), semantic);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AudioTokenizerConfig c && encoderDim == c.encoderDim && latentDim == c.latentDim && decoderDim == c.decoderDim
                && Arrays.equals(ratios, c.ratios) && sampleRate == c.sampleRate && semanticSampleRate == c.semanticSampleRate
                && bins == c.bins && nQ == c.nQ && codebookDim == c.codebookDim && semantic.equals(c.semantic);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(ratios) * 31 + latentDim;
    }

    @Override
    public String toString() {
        return "AudioTokenizerConfig[D=" + latentDim + ", ratios=" + Arrays.toString(ratios) + ", sample_rate=" + sampleRate
                + ", bins=" + bins + ", n_q=" + nQ + ", codebook_dim=" + codebookDim + ", semantic=" + semantic + "]";
    }
}
