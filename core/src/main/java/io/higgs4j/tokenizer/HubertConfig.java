package io.higgs4j.tokenizer;

import io.higgs4j.higgs.HiggsAudioConfig.ConfigException;

import java.util.Arrays;

/**
 * The HuBERT encoder of the audio tokenizer's semantic branch, with Hugging Face HubertConfig's meaning: a feature
 * encoder of 1-D convolutions (the first with a GroupNorm over each channel, none with bias), a projection to
 * hiddenSize behind a LayerNorm, a weight-normed grouped positional convolution, and post-LN transformer layers with
 * GELU. {@code maskedSpecEmbed} says whether the checkpoint carries the {@code masked_spec_embed} vector (Hugging Face
 * creates it when mask_time_prob or mask_feature_prob is positive; it is used in training only).
 */
public record HubertConfig(int hiddenSize, int numHiddenLayers, int numAttentionHeads, int intermediateSize, int[] convDim,
                           int[] convKernel, int[] convStride, int numConvPosEmbeddings, int numConvPosEmbeddingGroups,
                           double layerNormEps, boolean maskedSpecEmbed) {

    public HubertConfig {
        if (convDim.length == 0 || convDim.length != convKernel.length || convDim.length != convStride.length) {
            throw new ConfigException("HuBERT conv_dim, conv_kernel and conv_stride must have one equal, positive length: "
                    + Arrays.toString(convDim) + ", " + Arrays.toString(convKernel) + ", " + Arrays.toString(convStride));
        }
        if (hiddenSize % numAttentionHeads != 0 || hiddenSize % numConvPosEmbeddingGroups != 0) {
            throw new ConfigException("HuBERT hidden_size " + hiddenSize + " must be a multiple of the attention heads ("
                    + numAttentionHeads + ") and of the positional convolution's groups (" + numConvPosEmbeddingGroups + ")");
        }
    }

    /** hubert-base: 768 wide, 12 layers of 12 heads, ffn 3072, 7 convolutions of 512 channels (stride 320 in all). */
    public static HubertConfig base() {
        return new HubertConfig(768, 12, 12, 3072, new int[] {512, 512, 512, 512, 512, 512, 512},
                new int[] {10, 3, 3, 3, 3, 2, 2}, new int[] {5, 2, 2, 2, 2, 2, 2}, 128, 16, 1e-5, true);
    }

    /** Tests: the base's convolution geometry (so 320 samples a frame) with 8 channels, 16 wide, 2 layers of 2 heads. */
    public static HubertConfig tiny() {
        return new HubertConfig(16, 2, 2, 32, new int[] {8, 8, 8, 8, 8, 8, 8},
                new int[] {10, 3, 3, 3, 3, 2, 2}, new int[] {5, 2, 2, 2, 2, 2, 2}, 16, 4, 1e-5, true);
    }

    /** A Hugging Face HubertConfig object, its defaults being HuBERT-base's; the variants we do not build are refused. */
    public static HubertConfig fromJson(com.fasterxml.jackson.databind.JsonNode c) {
        if (!c.path("feat_extract_norm").asText("group").equals("group") || c.path("do_stable_layer_norm").asBoolean(false)
                || c.path("conv_bias").asBoolean(false) || !c.path("feat_proj_layer_norm").asBoolean(true)
                || c.path("conv_pos_batch_norm").asBoolean(false) || !c.path("hidden_act").asText("gelu").equals("gelu")
                || !c.path("feat_extract_activation").asText("gelu").equals("gelu")) {
            throw new ConfigException("semantic_model_config: only HuBERT-base's layout is supported (feat_extract_norm group, "
                    + "post-LN layers, no conv bias, feature projection LayerNorm, GELU)");
        }
        HubertConfig b = base();
        return new HubertConfig(c.path("hidden_size").asInt(b.hiddenSize), c.path("num_hidden_layers").asInt(b.numHiddenLayers),
                c.path("num_attention_heads").asInt(b.numAttentionHeads), c.path("intermediate_size").asInt(b.intermediateSize),
                ints(c, "conv_dim", b.convDim), ints(c, "conv_kernel", b.convKernel), ints(c, "conv_stride", b.convStride),
                c.path("num_conv_pos_embeddings").asInt(b.numConvPosEmbeddings),
                c.path("num_conv_pos_embedding_groups").asInt(b.numConvPosEmbeddingGroups), c.path("layer_norm_eps").asDouble(1e-5),
                c.path("mask_time_prob").asDouble(0.05) > 0 || c.path("mask_feature_prob").asDouble(0) > 0);
    }

    private static int[] ints(com.fasterxml.jackson.databind.JsonNode c, String key, int[] fallback) {
        com.fasterxml.jackson.databind.JsonNode a = c.get(key);
        if (a == null) return fallback;
        if (!a.isArray()) throw new ConfigException("semantic_model_config." + key + " must be a list of integers");
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }


    /** Input samples per output frame: the product of the strides. */
    public int hop() {
        int h = 1;
        for (int s : convStride) h *= s;
        return h;
    }

    /** Frames out of the feature encoder for n input samples. */
    public long frames(long n) {
        long t = n;
        for (int i = 0; i < convKernel.length; i++) t = Math.floorDiv(t - convKernel[i], convStride[i]) + 1;
        return Math.max(t, 0);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HubertConfig c && hiddenSize == c.hiddenSize && numHiddenLayers == c.numHiddenLayers
                && numAttentionHeads == c.numAttentionHeads && intermediateSize == c.intermediateSize
                && Arrays.equals(convDim, c.convDim) && Arrays.equals(convKernel, c.convKernel)
                && Arrays.equals(convStride, c.convStride) && numConvPosEmbeddings == c.numConvPosEmbeddings
                && numConvPosEmbeddingGroups == c.numConvPosEmbeddingGroups && layerNormEps == c.layerNormEps
                && maskedSpecEmbed == c.maskedSpecEmbed;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(convDim) * 31 + hiddenSize;
    }

    @Override
    public String toString() {
        return "HubertConfig[hidden=" + hiddenSize + ", layers=" + numHiddenLayers + ", heads=" + numAttentionHeads
                + ", ffn=" + intermediateSize + ", conv_dim=" + Arrays.toString(convDim) + "]";
    }
}
