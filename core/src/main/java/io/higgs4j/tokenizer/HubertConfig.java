package io.higgs4j.tokenizer;

import io.higgs4j.higgs.HiggsAudioConfig.ConfigException;
import io.higgs4j.json.JsonFields;

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
        if (hiddenSize < 1 || numHiddenLayers < 0 || numAttentionHeads < 1 || intermediateSize < 1 || numConvPosEmbeddings < 1
                || numConvPosEmbeddingGroups < 1 || Arrays.stream(convDim).anyMatch(x -> x < 1)
                || Arrays.stream(convKernel).anyMatch(x -> x < 1) || Arrays.stream(convStride).anyMatch(x -> x < 1)) {
            throw new ConfigException("HuBERT sizes must be positive: hidden_size " + hiddenSize + ", num_hidden_layers "
                    + numHiddenLayers + ", num_attention_heads " + numAttentionHeads + ", intermediate_size " + intermediateSize
                    + ", num_conv_pos_embeddings " + numConvPosEmbeddings + ", num_conv_pos_embedding_groups "
                    + numConvPosEmbeddingGroups + ", conv_dim " + Arrays.toString(convDim) + ", conv_kernel "
                    + Arrays.toString(convKernel) + ", conv_stride " + Arrays.toString(convStride));
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
        return fromFields(JsonFields.of(c, m -> new ConfigException("semantic_model_config: " + m)));
    }

    /** As {@link #fromJson}, the fields typed strictly (a wrong JSON type is an error naming the key). */
    public static HubertConfig fromFields(JsonFields c) {
        if (!c.stringOr("feat_extract_norm", "group").equals("group") || c.boolOr("do_stable_layer_norm", false)
                || c.boolOr("conv_bias", false) || !c.boolOr("feat_proj_layer_norm", true)
                || c.boolOr("conv_pos_batch_norm", false) || !c.stringOr("hidden_act", "gelu").equals("gelu")
                || !c.stringOr("feat_extract_activation", "gelu").equals("gelu")) {
            throw new ConfigException("semantic_model_config: only HuBERT-base's layout is supported (feat_extract_norm group, "
                    + "post-LN layers, no conv bias, feature projection LayerNorm, GELU)");
        }
        HubertConfig b = base();
        double maskTime = c.doubleOr("mask_time_prob", 0.05), maskFeature = c.doubleOr("mask_feature_prob", 0);
        return new HubertConfig(c.intOr("hidden_size", b.hiddenSize), c.intOr("num_hidden_layers", b.numHiddenLayers),
                c.intOr("num_attention_heads", b.numAttentionHeads), c.intOr("intermediate_size", b.intermediateSize),
                c.intsOr("conv_dim", b.convDim), c.intsOr("conv_kernel", b.convKernel), c.intsOr("conv_stride", b.convStride),
                c.intOr("num_conv_pos_embeddings", b.numConvPosEmbeddings),
                c.intOr("num_conv_pos_embedding_groups", b.numConvPosEmbeddingGroups), c.doubleOr("layer_norm_eps", 1e-5),
                maskTime > 0 || maskFeature > 0);
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
