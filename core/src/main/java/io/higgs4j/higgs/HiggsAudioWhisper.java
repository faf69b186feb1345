package io.higgs4j.higgs;

import io.higgs4j.nn.Init;
import io.higgs4j.nn.Linear;
import io.higgs4j.nn.Module;
import io.higgs4j.nn.StateDictLoader;
import io.higgs4j.safetensors.SafetensorsCheckpoint;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.TorchException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Higgs Audio's Whisper front end (docs/MODEL.md section 9), named as the Higgs checkpoint names it: {@code audio_tower.*}
 * (a {@link WhisperEncoder}, run as HiggsAudioEncoder: layers, average pool by 2, final layer_norm) and
 * {@code audio_encoder_proj.linear.{weight,bias}} (Linear d_model -> text hidden size, with bias). 30 s of 16 kHz audio
 * = 3000 mel frames -> 1500 positions -> 750 tokens: 25 tokens per second.
 *
 * <p>The feature attention mask (1 on real mel frames) is used as the reference's {@code _apply_audio_tower} uses
 * it: a clip of n real frames has {@code L = (n - 1) / 2 + 1} real positions after the convolutions, keys at or beyond
 * L are masked out in every layer's attention (queries there still compute, and are dropped), and the clip keeps
 * {@link #tokenCount(long)} = {@code (L - 2) / 2 + 1} tokens (floor divisions, as Python's {@code //}), i.e. the
 * pooled windows that lie wholly on real positions. Plain Hugging Face Whisper ignores the mask in its encoder;
 * {@link WhisperEncoder#forward(Tensor)} does the same.
 */
public final class HiggsAudioWhisper extends Module {
    public final WhisperEncoderConfig encoderConfig;
    public final WhisperEncoder audioTower;
    public final Projector audioEncoderProj;

    public HiggsAudioWhisper(WhisperEncoderConfig encoderConfig, long textHiddenSize, Init init) {
        this.encoderConfig = encoderConfig;
        audioTower = child("audio_tower", new WhisperEncoder(encoderConfig, init));
        audioEncoderProj = child("audio_encoder_proj", new Projector(encoderConfig.dModel(), textHiddenSize, init));
    }

    /** {@code audio_encoder_proj}: a module whose only child is {@code linear}, as HiggsAudioFeatureProjector. */
    public static final class Projector extends Module {
        public final Linear linear;

        Projector(long dModel, long hidden, Init init) {
            linear = child("linear", new Linear(dModel, hidden, true, init));
        }

        /** The encoder's output projected to the language model's hidden size. */
        public Tensor forward(Tensor x) {
            return linear.forward(x);
        }
    }

    /** Positions after the convolutions for n real mel frames: {@code (n - 1) // 2 + 1}. */
    public static long convLength(long melFrames) {
        return Math.floorDiv(melFrames - 1, 2) + 1;
    }

    /**
     * Tokens a clip of n real mel frames contributes (the reference's {@code _get_feat_extract_output_lengths}):
     * {@code L = (n - 1) // 2 + 1}, then {@code (L - 2) // 2 + 1} (= floor(L / 2) for L >= 0). 100 frames (1 s) -> 25,
     * 730 (7.3 s) -> 182, 3000 (30 s) -> 750; 0 to 2 frames -> 0.
     */
    public static long tokenCount(long melFrames) {
        return Math.floorDiv(convLength(melFrames) - 2, 2) + 1;
    }

    /** Real mel frames per clip: the row sums of the feature mask [B, T], or T for every clip when mask is null. */
    public static long[] realFrames(Tensor features, Tensor featureMask) {
        long b = features.size(0), t = features.size(2);
        if (featureMask == null) {
            long[] n = new long[(int) b];
            Arrays.fill(n, t);
            return n;
        }
        if (featureMask.dim() != 2 || featureMask.size(0) != b || featureMask.size(1) != t) {
            throw new TorchException("feature mask must be [" + b + ", " + t + "], got " + Arrays.toString(featureMask.shape()));
        }
        try (Scope s = Scope.open()) {
            return featureMask.to(DType.INT64).sum(1, false).to(io.higgs4j.torch.Device.CPU).toLongArray();
        }
    }

    /**
     * Every position, padded: features [B, mels, T], featureMask null or [B, T] (nonzero on real frames) ->
     * [B, ((T - 1) / 2 + 1) / 2, text hidden]. Rows beyond a clip's {@link #tokenCount} are padding.
     */
    public Tensor forward(Tensor features, Tensor featureMask) {
        long[] n = realFrames(features, featureMask);
        try (Scope s = Scope.open()) {
            Tensor keyMask = featureMask == null ? null : keyMask(n, WhisperEncoder.convOutputLength(features.size(2))).to(features.device());
            return Scope.keep(audioEncoderProj.forward(audioTower.forwardPooled(features, keyMask)));
        }
    }

    /**
     * Where {@link #encode} takes each clip's tower output from instead of running the tower: a cache of a frozen
     * tower's outputs. get returns the output of one clip (features [1, mels, T] exactly as the tower gets them, its
     * real frames, masked when the batch has a feature mask), in the caller's scope, on the features' device; compute
     * runs the tower on it ({@link #towerOutput}).
     */
    public interface TowerCache {
        Tensor get(Tensor features, long frames, boolean masked, Supplier<Tensor> compute);
    }

    private TowerCache cache;

    /**
     * Takes the tower outputs from cache from now on (null: runs the tower every time). The tower must stay frozen
     * while a cache is set: {@link #encode} refuses to use one while a tower parameter requires gradients.
     */
    public void cache(TowerCache cache) {
        this.cache = cache;
    }

    /** The first tower parameter that requires gradients (LoRA or a trained copy reaching the tower), or null. */
    public String trainableTowerParameter() {
        for (Map.Entry<String, Tensor> e : audioTower.namedParameters().entrySet()) {
            if (e.getValue().requiresGrad()) return "audio_tower." + e.getKey();
        }
        return null;
    }

    /**
     * Per clip, the token embeddings of its real frames only: [tokenCount(n_i), text hidden] each. The tower runs on
     * one clip at a time ({@link #towerOutput}), or its output comes from the {@link #cache}; then one projection over
     * every clip's tokens, the same operations either way, so cached and computed outputs give the same bits.
     */
    public List<Tensor> encode(Tensor features, Tensor featureMask) {
        long[] n = realFrames(features, featureMask);
        if (n.length == 0) return List.of();
        TowerCache c = cache;
        if (c != null) {
            String trainable = trainableTowerParameter();
            if (trainable != null) {
                throw new IllegalStateException("the Whisper tower trains (" + trainable + " requires gradients): its output cannot be cached");
            }
        }
        boolean masked = featureMask != null;
        try (Scope s = Scope.open()) {
            List<Tensor> tower = new ArrayList<>(n.length);
            for (int i = 0; i < n.length; i++) {
                Tensor clip = features.narrow(0, i, 1);
                long frames = n[i];
                tower.add(c == null ? towerOutput(clip, frames, masked) : c.get(clip, frames, masked, () -> towerOutput(clip, frames, masked)));
            }
            Tensor projected = audioEncoderProj.forward(Tensor.cat(tower, 0));
            List<Tensor> out = new ArrayList<>(n.length);
            long at = 0;
            for (Tensor t : tower) {
                out.add(Scope.keep(projected.narrow(0, at, t.size(0))));
                at += t.size(0);
            }
            return out;
        }
    }

    /**
     * The tower's output for one clip, its real tokens only, before the projection: features [1, mels, T] (frames of
     * them real; keys past them masked when masked) -> [{@link #clipTokens}(frames, T), d_model].
     */
    public Tensor towerOutput(Tensor clip, long frames, boolean masked) {
        if (clip.dim() != 3 || clip.size(0) != 1) throw new TorchException("towerOutput takes one clip [1, mels, T], got " + Arrays.toString(clip.shape()));
        try (Scope s = Scope.open()) {
            Tensor keyMask = masked ? keyMask(new long[] {frames}, WhisperEncoder.convOutputLength(clip.size(2))).to(clip.device()) : null;
            Tensor pooled = audioTower.forwardPooled(clip, keyMask);
            return Scope.keep(pooled.select(0, 0).narrow(0, 0, clipTokens(frames, clip.size(2))));
        }
    }

    /** Tokens kept of a clip of frames real frames in a window of t frames: tokenCount(frames), at most the pooled length. */
    public static long clipTokens(long frames, long t) {
        return Math.max(0, Math.min(tokenCount(frames), WhisperEncoder.convOutputLength(t) / 2));
    }

    /** bool [B, positions]: true before each clip's conv length. */
    static Tensor keyMask(long[] frames, long positions) {
        boolean[] m = new boolean[(int) (frames.length * positions)];
        for (int i = 0; i < frames.length; i++) {
            long l = Math.min(convLength(frames[i]), positions);
            for (long j = 0; j < l; j++) m[(int) (i * positions + j)] = true;
        }
        return Tensor.of(m, frames.length, positions);
    }

    // ---- weights ----

    /**
     * Loads {@code audio_tower} from a Hugging Face Whisper checkpoint (WhisperForConditionalGeneration's
     * {@code model.encoder.<name>} or WhisperModel's {@code encoder.<name>}) onto {@code audio_tower.<name>}, with
     * {@link StateDictLoader}'s checks (missing, unexpected and mis-shaped names listed; nothing copied unless all
     * fit). Decoder and other entries are ignored; {@code audio_encoder_proj} keeps its values.
     */
    public void loadWhisperEncoder(Path checkpoint) {
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(checkpoint)) {
            loadWhisperEncoder(ckpt);
        }
    }

    /** Loads the tower's weights from a Whisper checkpoint ({@code model.encoder.*} or {@code encoder.*} names). */
    public void loadWhisperEncoder(SafetensorsCheckpoint ckpt) {
        StateDictLoader.load(audioTower, ckpt, "audio_tower.", HiggsAudioWhisper::whisperToHiggs);
    }

    /** {@code model.encoder.x} or {@code encoder.x} -> {@code audio_tower.x}; anything else -> null (ignored). */
    public static String whisperToHiggs(String checkpointName) {
        if (checkpointName.startsWith("model.encoder.")) return "audio_tower." + checkpointName.substring("model.encoder.".length());
        if (checkpointName.startsWith("encoder.")) return "audio_tower." + checkpointName.substring("encoder.".length());
        return null;
    }

    /** Loads {@code audio_tower.*} and {@code audio_encoder_proj.*} from a Higgs checkpoint, ignoring its other entries. */
    public void loadFromHiggs(Path checkpoint) {
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(checkpoint)) {
            HiggsAudioWeights.load(this, ckpt, "", n -> n.startsWith("audio_tower.") || n.startsWith("audio_encoder_proj.") ? n : null);
        }
    }
}
