package io.higgs4j.higgs;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

import java.util.List;
import java.util.Objects;

/**
 * The training loss of Higgs Audio v2 (docs/MODEL.md section 6). Labels sit at the same columns as the inputs, so both streams
 * are shifted by one (next-token prediction):
 * <ul>
 *   <li>text: cross-entropy of text logits at positions 0..M-2 against labels at 1..M-1;</li>
 *   <li>audio, per codebook k: cross-entropy of audio logits rows 0..N-2 (codebook k) against audio labels row k,
 *       columns 1..N-1;</li>
 *   <li>total = textLossWeight * text + audio, with audio = sum_k w_k * audio_k, w_k = 1/K ({@link AudioReduction#MEAN})
 *       or 1 ({@link AudioReduction#SUM}).</li>
 * </ul>
 * Labels equal to -100 are ignored. Every stream is the mean over its counted (non-ignored) tokens, computed in
 * float32 whatever the logits' dtype; a stream with no counted token is 0, not NaN, and gives zero gradients.
 * Nothing here reads values back to the host, so the loss does not synchronise with the device.
 */
public final class HiggsAudioLoss {

    /** The label value that is not counted. */
    public static final long IGNORE_INDEX = -100;

    private HiggsAudioLoss() { }

    /** How the per-codebook audio losses are combined: MEAN weights each by 1/K, SUM by 1. */
    public enum AudioReduction { MEAN, SUM }

    /** textLossWeight scales the text loss in the total; audioReduction combines the codebooks. */
    public record Options(double textLossWeight, AudioReduction audioReduction) {
        public Options {
            if (!Double.isFinite(textLossWeight)) {
                throw new IllegalArgumentException("textLossWeight must be finite, got " + textLossWeight);
            }
            Objects.requireNonNull(audioReduction, "audioReduction");
        }

        /** textLossWeight 1.0, audio MEAN over codebooks. */
        public static Options defaults() {
            return new Options(1.0, AudioReduction.MEAN);
        }

        /** These options with another text loss weight. */
        public Options withTextLossWeight(double weight) {
            return new Options(weight, audioReduction);
        }

        /** These options with another way of combining the codebook losses. */
        public Options withAudioReduction(AudioReduction reduction) {
            return new Options(textLossWeight, reduction);
        }
    }

    /**
     * total, text and audio are 0-dim float32; audio is the weighted sum of the codebook losses. codebookLosses is
     * float32 [K] (shape [0] when there was no audio-out). All carry the autograd graph of the logits.
     */
    public record Result(Tensor total, Tensor text, Tensor audio, Tensor codebookLosses) { }

    /** {@link #compute(Tensor, Tensor, Tensor, Tensor, Options)} with {@link Options#defaults()}. */
    public static Result compute(Tensor textLogits, Tensor labels, Tensor audioLogits, Tensor audioLabels) {
        return compute(textLogits, labels, audioLogits, audioLabels, Options.defaults());
    }

    /**
     * @param textLogits  [B, M, V], any floating dtype
     * @param labels      int64 [B, M] (merged text labels, -100 where not supervised)
     * @param audioLogits [N, K, C] over the concatenated audio-out positions, or null when the batch has no audio-out
     * @param audioLabels int64 [K, N] (delayed audio labels of all audio-out clips, concatenated), or null with
     *                    audioLogits
     * @param options     weights; null means {@link Options#defaults()}
     */
    public static Result compute(Tensor textLogits, Tensor labels, Tensor audioLogits, Tensor audioLabels, Options options) {
        Options opt = options == null ? Options.defaults() : options;
        check(textLogits, labels, audioLogits, audioLabels);
        try (Scope s = Scope.open()) {
            Result r = combine(textLoss(textLogits, labels), audioLogits == null ? null : codebookLosses(audioLogits, audioLabels), opt);
            return new Result(Scope.keep(r.total()), Scope.keep(r.text()), Scope.keep(r.audio()), Scope.keep(r.codebookLosses()));
        }
    }

    /**
     * The total of a text loss (0-dim float32) and the codebook losses (float32 [K], or null without audio-out: then
     * audio is 0 and the codebooks [0]), weighted as options say; tensors in the caller's scope. Shared with
     * TrainingPass, whose losses are made of chunked sums.
     */
    static Result combine(Tensor text, Tensor codebookLosses, Options options) {
        Tensor codebooks = codebookLosses != null ? codebookLosses : Tensor.zeros(new long[] {0}, DType.FLOAT32, text.device());
        Tensor audio = codebookLosses == null ? Tensor.zeros(new long[] {}, DType.FLOAT32, text.device())
                : options.audioReduction() == AudioReduction.MEAN ? codebooks.mean() : codebooks.sum();
        // the weight is a float32 tensor: a Java double next to a 0-dim float32 tensor would promote to float64
        Tensor total = options.textLossWeight() == 1.0 ? text.add(audio)
                : text.mul(Tensor.full(new long[] {}, options.textLossWeight(), DType.FLOAT32, text.device())).add(audio);
        return new Result(total, text, audio, codebooks);
    }

    /**
     * What an evaluation adds up over batches, as float64 [2 + 3K] (one read-back per batch): the text cross-entropy's
     * sum and its number of counted labels, then per codebook the sums [K], the counts [K] and how many of those
     * labels are the logits' argmax [K], over exactly the shifted positions {@link #compute} averages. Without
     * audio-out (audioLogits null) the codebook entries are 0.
     */
    public static Tensor sums(Tensor textLogits, Tensor labels, Tensor audioLogits, Tensor audioLabels, int numCodebooks) {
        check(textLogits, labels, audioLogits, audioLabels);
        if (audioLogits != null && audioLogits.size(1) != numCodebooks) {
            throw new IllegalArgumentException("HiggsAudioLoss.sums: audio logits have " + audioLogits.size(1) + " codebooks, expected " + numCodebooks);
        }
        try (Scope s = Scope.open()) {
            Tensor[] text = shiftedText(textLogits, labels);
            Tensor x = text[0], y = text[1];
            Tensor textSum = x.crossEntropy(y, IGNORE_INDEX, Tensor.Reduction.SUM, 0.0).to(DType.FLOAT64).reshape(1);
            Tensor textCount = y.ne((double) IGNORE_INDEX).sum().to(DType.FLOAT64).reshape(1);
            Tensor audio;
            if (audioLogits == null) {
                audio = Tensor.zeros(new long[] {3L * numCodebooks}, DType.FLOAT64, textLogits.device());
            } else {
                Tensor[] shifted = shiftedAudio(audioLogits, audioLabels);
                Tensor ax = shifted[0], ay = shifted[1].transpose(0, 1);                    // [N-1, C, K], [N-1, K]
                Tensor counted = ay.ne((double) IGNORE_INDEX);
                Tensor perToken = ax.crossEntropy(ay, IGNORE_INDEX, Tensor.Reduction.NONE, 0.0);
                Tensor correct = ax.argmax(1, false).eq(ay).logicalAnd(counted);
                audio = Tensor.cat(List.of(perToken.sum(0, false).to(DType.FLOAT64), counted.sum(0, false).to(DType.FLOAT64),
                        correct.sum(0, false).to(DType.FLOAT64)), 0);
            }
            return Scope.keep(Tensor.cat(List.of(textSum, textCount, audio), 0));
        }
    }

    /** Mean cross-entropy of logits [:, 0..M-2] against labels [:, 1..M-1]; 0 when nothing is counted. */
    private static Tensor textLoss(Tensor logits, Tensor labels) {
        Tensor[] shifted = shiftedText(logits, labels);
        Tensor x = shifted[0], y = shifted[1];
        Tensor sum = x.crossEntropy(y, IGNORE_INDEX, Tensor.Reduction.SUM, 0.0);
        return sum.div(countOf(y.ne((double) IGNORE_INDEX).sum()));
    }

    /** Per codebook k: mean cross-entropy of logits [0..N-2, k] against labels [k, 1..N-1]; float32 [K]. */
    private static Tensor codebookLosses(Tensor logits, Tensor labels) {
        Tensor[] shifted = shiftedAudio(logits, labels);
        Tensor x = shifted[0], y = shifted[1];
        Tensor perToken = x.crossEntropy(y.transpose(0, 1), IGNORE_INDEX, Tensor.Reduction.NONE, 0.0); // [N-1, K]
        Tensor sums = perToken.sum(0, false);                                    // [K]
        return sums.div(countOf(y.ne((double) IGNORE_INDEX).sum(1, false)));
    }

    /** Text logits [B*(M-1), V] in float32 at positions 0..M-2 and their labels [B*(M-1)] at 1..M-1. */
    private static Tensor[] shiftedText(Tensor logits, Tensor labels) {
        long b = logits.size(0), m = logits.size(1), v = logits.size(2);
        long steps = Math.max(m - 1, 0);
        return new Tensor[] {logits.narrow(1, 0, steps).to(DType.FLOAT32).reshape(b * steps, v),
                labels.narrow(1, Math.min(1, m), steps).reshape(b * steps)};
    }

    /**
     * Audio logits rows 0..N-2 as float32 [N-1, C, K] (classes on dim 1, so cross-entropy keeps K as an extra dim) and
     * the labels [K, N-1] of columns 1..N-1.
     */
    private static Tensor[] shiftedAudio(Tensor logits, Tensor labels) {
        long n = logits.size(0), steps = Math.max(n - 1, 0);
        return new Tensor[] {logits.narrow(0, 0, steps).to(DType.FLOAT32).transpose(1, 2), labels.narrow(1, Math.min(1, n), steps)};
    }

    /**
     * Integer counts as float32, at least 1 (a stream with nothing counted has sum 0, so its loss is 0). Clamped while
     * still int64: clamping a 0-dim float32 tensor by Java doubles would promote it to float64.
     */
    private static Tensor countOf(Tensor counts) {
        return counts.clamp(1, 1L << 60).to(DType.FLOAT32);
    }

    private static void check(Tensor textLogits, Tensor labels, Tensor audioLogits, Tensor audioLabels) {
        if (textLogits == null || labels == null) throw new IllegalArgumentException("HiggsAudioLoss: text logits and labels are required");
        if (textLogits.dim() != 3 || !textLogits.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("HiggsAudioLoss: text logits must be floating point [B, M, V], got "
                    + DelayPattern.describe(textLogits));
        }
        if (labels.dtype() != DType.INT64) {
            throw new IllegalArgumentException("HiggsAudioLoss: labels must be int64, got " + DelayPattern.describe(labels));
        }
        if (labels.dim() != 2 || labels.size(0) != textLogits.size(0) || labels.size(1) != textLogits.size(1)) {
            throw new IllegalArgumentException("HiggsAudioLoss: labels " + DelayPattern.describe(labels)
                    + " do not match text logits " + DelayPattern.describe(textLogits) + " (expected labels [B, M] for logits [B, M, V])");
        }
        if (!labels.device().equals(textLogits.device())) {
            throw new IllegalArgumentException("HiggsAudioLoss: labels " + DelayPattern.describe(labels)
                    + " and text logits " + DelayPattern.describe(textLogits) + " are on different devices");
        }
        if ((audioLogits == null) != (audioLabels == null)) {
            throw new IllegalArgumentException("HiggsAudioLoss: audio logits and audio labels must be given together (got "
                    + (audioLogits == null ? "labels without logits" : "logits without labels") + ")");
        }
        if (audioLogits == null) return;
        if (audioLogits.dim() != 3 || !audioLogits.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("HiggsAudioLoss: audio logits must be floating point [N, K, C], got "
                    + DelayPattern.describe(audioLogits));
        }
        if (audioLabels.dtype() != DType.INT64) {
            throw new IllegalArgumentException("HiggsAudioLoss: audio labels must be int64, got " + DelayPattern.describe(audioLabels));
        }
        if (audioLogits.size(1) == 0) {
            throw new IllegalArgumentException("HiggsAudioLoss: audio logits have K=0 codebooks: " + DelayPattern.describe(audioLogits));
        }
        if (audioLabels.dim() != 2) {
            throw new IllegalArgumentException("HiggsAudioLoss: audio labels must be [K, N], got " + DelayPattern.describe(audioLabels));
        }
        if (audioLabels.size(0) != audioLogits.size(1)) {
            throw new IllegalArgumentException("HiggsAudioLoss: audio labels " + DelayPattern.describe(audioLabels) + " have "
                    + audioLabels.size(0) + " codebooks but audio logits " + DelayPattern.describe(audioLogits) + " have "
                    + audioLogits.size(1) + " (expected labels [K, N] for logits [N, K, C])");
        }
        if (audioLabels.size(1) != audioLogits.size(0)) {
            throw new IllegalArgumentException("HiggsAudioLoss: audio labels " + DelayPattern.describe(audioLabels) + " have "
                    + audioLabels.size(1) + " positions but audio logits " + DelayPattern.describe(audioLogits) + " have "
                    + audioLogits.size(0) + " (expected labels [K, N] for logits [N, K, C])");
        }
        if (!audioLogits.device().equals(textLogits.device()) || !audioLabels.device().equals(textLogits.device())) {
            throw new IllegalArgumentException("HiggsAudioLoss: audio logits " + DelayPattern.describe(audioLogits) + ", audio labels "
                    + DelayPattern.describe(audioLabels) + " and text logits " + DelayPattern.describe(textLogits)
                    + " must be on one device");
        }
    }
}
