package io.higgs4j.tokenizer;

import io.higgs4j.nn.Conv1d;
import io.higgs4j.nn.Init;
import io.higgs4j.nn.LayerNorm;
import io.higgs4j.nn.Linear;
import io.higgs4j.nn.Module;
import io.higgs4j.nn.ModuleList;
import io.higgs4j.nn.MultiHeadSelfAttention;
import io.higgs4j.nn.Parameter;
import io.higgs4j.nn.WNConv1d;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.TorchException;

/**
 * Hugging Face's HubertModel in evaluation (the semantic teacher, {@code semantic_model} in the tokenizer), with its
 * parameter names: {@code feature_extractor}, {@code feature_projection}, {@code encoder} and {@code masked_spec_embed}
 * (training only). {@link #averagedHiddenStates} is what the tokenizer uses: the mean of the encoder's input (after
 * its LayerNorm) and every layer's output, the 13 {@code hidden_states} of the base model.
 */
public final class HubertModel extends Module {
    public final HubertConfig config;
    public final FeatureEncoder featureExtractor;
    public final FeatureProjection featureProjection;
    public final Encoder encoder;

    public HubertModel(HubertConfig config, Init init) {
        this.config = config;
        if (config.maskedSpecEmbed()) parameter("masked_spec_embed", init.uniform(1.0, config.hiddenSize()));
        featureExtractor = child("feature_extractor", new FeatureEncoder(config, init));
        featureProjection = child("feature_projection", new FeatureProjection(config, init));
        encoder = child("encoder", new Encoder(config, init));
    }

    /** Samples [B, N] at 16 kHz -> the mean of the hidden states, [B, frames, hidden]. */
    public Tensor averagedHiddenStates(Tensor inputValues) {
        if (inputValues.dim() != 2) {
            throw new TorchException("HuBERT expects samples [B, N], got " + java.util.Arrays.toString(inputValues.shape()));
        }
        long minimum = config.convKernel()[0];
        if (config.frames(inputValues.size(1)) < 1) {
            throw new TorchException("HuBERT needs at least " + minimum + " samples for one frame, got " + inputValues.size(1));
        }
        try (Scope s = Scope.open()) {
            Tensor features = featureExtractor.forward(inputValues).transpose(1, 2);
            Tensor h = encoder.embed(featureProjection.forward(features));
            Tensor sum = h;
            for (EncoderLayer layer : encoder.layers.items()) {
                h = layer.forward(h);
                sum = sum.add(h);
            }
            return Scope.keep(sum.div(encoder.layers.size() + 1));
        }
    }

    /** The convolutional feature encoder: [B, N] -> [B, conv_dim, frames]. */
    public static final class FeatureEncoder extends Module {
        public final ModuleList<ConvLayer> convLayers;

        FeatureEncoder(HubertConfig c, Init init) {
            convLayers = child("conv_layers", new ModuleList<>());
            int in = 1;
            for (int i = 0; i < c.convDim().length; i++) {
                convLayers.add(new ConvLayer(in, c.convDim()[i], c.convKernel()[i], c.convStride()[i], i == 0, init));
                in = c.convDim()[i];
            }
        }

        public Tensor forward(Tensor inputValues) {
            try (Scope s = Scope.open()) {
                Tensor h = inputValues.unsqueeze(1);
                for (ConvLayer l : convLayers.items()) h = l.forward(h);
                return Scope.keep(h);
            }
        }
    }

    /** A conv without bias, a GroupNorm with one group per channel on the first layer only, then GELU. */
    public static final class ConvLayer extends Module {
        public final Conv1d conv;
        private final long channels;
        private final GroupNormParams layerNorm;

        ConvLayer(int in, int out, int kernel, int stride, boolean groupNorm, Init init) {
            channels = out;
            conv = child("conv", new Conv1d(in, out, kernel, stride, 0, false, init));
            layerNorm = groupNorm ? child("layer_norm", new GroupNormParams(out, init)) : null;
        }

        public Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                Tensor h = conv.forward(x);
                if (layerNorm != null) {
                    h = h.groupNorm(channels, layerNorm.weight(), layerNorm.bias(), 1e-5);
                }
                return Scope.keep(h.gelu());
            }
        }
    }

    /** torch.nn.GroupNorm's affine parameters, {@code weight} (ones) and {@code bias} (zeros). */
    public static final class GroupNormParams extends Module {
        private final Parameter weight, bias;

        GroupNormParams(long channels, Init init) {
            weight = parameter("weight", init.ones(channels));
            bias = parameter("bias", init.zeros(channels));
        }

        Tensor weight() { return weight.get(); }

        Tensor bias() { return bias.get(); }
    }

    /** LayerNorm over the conv features, then a linear to the hidden size. [B, T, conv_dim] -> [B, T, hidden]. */
    public static final class FeatureProjection extends Module {
        public final LayerNorm layerNorm;
        public final Linear projection;

        FeatureProjection(HubertConfig c, Init init) {
            int last = c.convDim()[c.convDim().length - 1];
            layerNorm = child("layer_norm", new LayerNorm(last, c.layerNormEps(), init));
            projection = child("projection", new Linear(last, c.hiddenSize(), true, init));
        }

        public Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                return Scope.keep(projection.forward(layerNorm.forward(x)));
            }
        }
    }

    /** The positional convolution, the LayerNorm and the post-LN layers. */
    public static final class Encoder extends Module {
        public final PositionalConvEmbedding posConvEmbed;
        public final LayerNorm layerNorm;
        public final ModuleList<EncoderLayer> layers;

        Encoder(HubertConfig c, Init init) {
            posConvEmbed = child("pos_conv_embed", new PositionalConvEmbedding(c, init));
            layerNorm = child("layer_norm", new LayerNorm(c.hiddenSize(), c.layerNormEps(), init));
            layers = child("layers", new ModuleList<>());
            for (int i = 0; i < c.numHiddenLayers(); i++) layers.add(new EncoderLayer(c, init));
        }

        /** The first hidden state: LayerNorm(x + posConv(x)). */
        public Tensor embed(Tensor x) {
            try (Scope s = Scope.open()) {
                return Scope.keep(layerNorm.forward(x.add(posConvEmbed.forward(x))));
            }
        }
    }

    /**
     * A grouped conv with kernel K and padding K / 2 under weight_norm over dim 2 ({@code conv.weight_g} [1, 1, K],
     * {@code conv.weight_v}); an even K leaves one frame too many, which is cut from the end. Then GELU.
     */
    public static final class PositionalConvEmbedding extends Module {
        public final WNConv1d conv;
        private final boolean removeLast;

        PositionalConvEmbedding(HubertConfig c, Init init) {
            int k = c.numConvPosEmbeddings();
            conv = child("conv", new WNConv1d(c.hiddenSize(), c.hiddenSize(), k, 1, k / 2, 1, c.numConvPosEmbeddingGroups(), 2, init));
            removeLast = k % 2 == 0;
        }

        /** [B, T, hidden] -> [B, T, hidden]. */
        public Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                Tensor h = conv.forward(x.transpose(1, 2));
                if (removeLast) h = h.narrow(2, 0, h.size(2) - 1);
                return Scope.keep(h.gelu().transpose(1, 2));
            }
        }
    }

    /** Post-LN: h = layer_norm(x + attention(x)); out = final_layer_norm(h + feed_forward(h)). */
    public static final class EncoderLayer extends Module {
        public final MultiHeadSelfAttention attention;
        public final LayerNorm layerNorm, finalLayerNorm;
        public final FeedForward feedForward;

        EncoderLayer(HubertConfig c, Init init) {
            attention = child("attention", new MultiHeadSelfAttention(c.hiddenSize(), c.numAttentionHeads(), true, init));
            layerNorm = child("layer_norm", new LayerNorm(c.hiddenSize(), c.layerNormEps(), init));
            feedForward = child("feed_forward", new FeedForward(c, init));
            finalLayerNorm = child("final_layer_norm", new LayerNorm(c.hiddenSize(), c.layerNormEps(), init));
        }

        public Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                Tensor h = layerNorm.forward(x.add(attention.forward(x, null)));
                return Scope.keep(finalLayerNorm.forward(h.add(feedForward.forward(h))));
            }
        }
    }

    /** intermediate_dense, GELU, output_dense. */
    public static final class FeedForward extends Module {
        public final Linear intermediateDense, outputDense;

        FeedForward(HubertConfig c, Init init) {
            intermediateDense = child("intermediate_dense", new Linear(c.hiddenSize(), c.intermediateSize(), true, init));
            outputDense = child("output_dense", new Linear(c.intermediateSize(), c.hiddenSize(), true, init));
        }

        public Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                return Scope.keep(outputDense.forward(intermediateDense.forward(x).gelu()));
            }
        }
    }
}
