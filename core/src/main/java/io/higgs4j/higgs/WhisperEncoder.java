package io.higgs4j.higgs;

import io.higgs4j.nn.Conv1d;
import io.higgs4j.nn.Init;
import io.higgs4j.nn.LayerNorm;
import io.higgs4j.nn.Module;
import io.higgs4j.nn.ModuleList;
import io.higgs4j.nn.Parameter;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import io.higgs4j.torch.TorchException;

import java.util.Arrays;

/**
 * The Whisper encoder with Hugging Face's parameter names: {@code conv1} [d, mels, 3] (stride 1, padding 1),
 * {@code conv2} [d, d, 3] (stride 2, padding 1), each followed by exact GELU; {@code embed_positions.weight}
 * [max_source_positions, d] added to the conv output (initialised to Whisper's sinusoids, loaded like any weight,
 * frozen in the reference); {@code layers.i} ({@link WhisperEncoderLayer}); final {@code layer_norm}.
 *
 * <p>{@link #forward(Tensor)} is Hugging Face's WhisperEncoder (features [B, mels, 3000] -> [B, 1500, d]);
 * {@link #forwardPooled(Tensor, Tensor)} is Higgs Audio's HiggsAudioEncoder, which average-pools by 2 over time
 * <em>before</em> the final layer_norm ([B, 750, d]) and passes a key-padding mask to the layers.
 *
 * <p>Inputs shorter than 2 * max_source_positions frames are accepted (the first T' position rows are added, where the
 * references insist on exactly 3000 frames); with 3000 frames the result is the reference's.
 */
public final class WhisperEncoder extends Module {
    public final WhisperEncoderConfig config;
    public final Conv1d conv1, conv2;
    public final Positions embedPositions;
    public final ModuleList<WhisperEncoderLayer> layers;
    public final LayerNorm layerNorm;

    public WhisperEncoder(WhisperEncoderConfig c, Init init) {
        this.config = c;
        conv1 = child("conv1", new Conv1d(c.numMelBins(), c.dModel(), 3, 1, 1, true, init));
        conv2 = child("conv2", new Conv1d(c.dModel(), c.dModel(), 3, 2, 1, true, init));
        embedPositions = child("embed_positions", new Positions(c.maxSourcePositions(), c.dModel(), init));
        layers = child("layers", new ModuleList<>());
        for (int i = 0; i < c.encoderLayers(); i++) layers.add(new WhisperEncoderLayer(c, init));
        layerNorm = child("layer_norm", new LayerNorm(c.dModel(), c.layerNormEps(), init));
    }

    /** Length after the convolutions for an input of t frames: (t - 1) / 2 + 1 (floor), 1500 for 3000. */
    public static long convOutputLength(long frames) {
        return Math.floorDiv(frames - 1, 2) + 1;
    }

    /** Hugging Face WhisperEncoder's last_hidden_state: features [B, mels, T] -> [B, (T-1)/2+1, d], no mask. */
    public Tensor forward(Tensor features) {
        try (Scope s = Scope.open()) {
            return Scope.keep(layerNorm.forward(hiddenStates(features, null)));
        }
    }

    /**
     * Higgs Audio's audio tower: the layers (keys masked by keyMask when given), average pool by 2 over time, then the
     * final layer_norm. features [B, mels, T]; keyMask null or bool [B, T'] (T' = conv output length), true on real
     * positions. Returns [B, T'/2, d] (floor).
     */
    public Tensor forwardPooled(Tensor features, Tensor keyMask) {
        try (Scope s = Scope.open()) {
            Tensor h = hiddenStates(features, keyMask);              // [B, T', d]
            Tensor pooled = h.transpose(1, 2).avgPool1d(2, 2, 0, false, true); // [B, d, T'/2]
            return Scope.keep(layerNorm.forward(pooled.transpose(1, 2)));
        }
    }

    /** Convolutions, positions and every layer, without the final layer_norm: [B, T', d]. */
    public Tensor hiddenStates(Tensor features, Tensor keyMask) {
        if (features.dim() != 3 || features.size(1) != config.numMelBins()) {
            throw new TorchException("Whisper encoder: expected features [B, " + config.numMelBins() + ", T], got "
                    + Arrays.toString(features.shape()));
        }
        long t = convOutputLength(features.size(2));
        if (t > config.maxSourcePositions()) {
            throw new TorchException("Whisper encoder: " + features.size(2) + " mel frames give " + t + " positions, more than max_source_positions "
                    + config.maxSourcePositions() + " (at most " + config.inputFrames() + " frames)");
        }
        if (keyMask != null && (keyMask.dim() != 2 || keyMask.size(0) != features.size(0) || keyMask.size(1) != t)) {
            throw new TorchException("Whisper encoder: key mask must be [" + features.size(0) + ", " + t + "], got " + Arrays.toString(keyMask.shape()));
        }
        try (Scope s = Scope.open()) {
            Tensor x = features.dtype() == conv1.weight().dtype() ? features : features.to(conv1.weight().dtype());
            Tensor h = conv2.forward(conv1.forward(x).gelu()).gelu().transpose(1, 2);
            Tensor pos = embedPositions.weight().narrow(0, 0, t);
            h = h.add(pos);
            Tensor mask = keyMask == null ? null : keyMask.to(DType.BOOL).view(keyMask.size(0), 1, 1, t);
            for (WhisperEncoderLayer layer : layers.items()) h = layer.forward(h, mask);
            return Scope.keep(h);
        }
    }

    /** {@code embed_positions} as an nn.Embedding holding only {@code weight} [max_source_positions, d]. */
    public static final class Positions extends Module {
        private final Parameter weight;

        Positions(long positions, long dim, Init init) {
            weight = parameter("weight", sinusoids(positions, dim, init));
        }

        /** The position embeddings, [max source positions, d_model]. */
        public Tensor weight() { return weight.get(); }
    }

    /** Whisper's position table: [sin(p * f_i) | cos(p * f_i)], f_i = 10000^(-i / (d/2 - 1)), i < d/2. */
    static Tensor sinusoids(long length, long channels, Init init) {
        if (init.device().type() == Device.Type.META || !init.initialize() || channels % 2 != 0 || channels < 4) {
            return init.zeros(length, channels); // (uninitialised on meta or for loading; odd widths are not Whisper's)
        }
        long half = channels / 2;
        double inc = Math.log(10000.0) / (half - 1);
        double[] table = new double[(int) (length * channels)];
        for (int p = 0; p < length; p++) {
            for (int i = 0; i < half; i++) {
                double a = p * Math.exp(-inc * i);
                table[(int) (p * channels + i)] = Math.sin(a);
                table[(int) (p * channels + half + i)] = Math.cos(a);
            }
        }
        try (var g = Torch.noGrad(); Tensor cpu = Tensor.of(table, length, channels)) {
            return cpu.to(init.device(), init.dtype());
        }
    }
}
