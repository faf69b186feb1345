package io.higgs4j.trainer.data;

/**
 * Limits applied when validating a data set.
 *
 * @param maxSeqLen       longest merged sequence allowed ({@link EncodedSample#mergedLength()}); 0 = no limit
 * @param minAudioSeconds shortest clip allowed (frames / 25), every clip of a sample; 0 = no limit
 * @param maxAudioSeconds longest clip allowed; 0 = no limit
 * @param warnInFull      how many invalid samples are reported one by one before a summary
 * @param promptLayout    how voice-cloning samples are laid out as turns
 */
public record ValidationOptions(int maxSeqLen, double minAudioSeconds, double maxAudioSeconds, int warnInFull,
                                PromptLayout promptLayout) {

    /** In this project's layout ({@link PromptLayout#TRAIN}). */
    public ValidationOptions(int maxSeqLen, double minAudioSeconds, double maxAudioSeconds, int warnInFull) {
        this(maxSeqLen, minAudioSeconds, maxAudioSeconds, warnInFull, PromptLayout.TRAIN);
    }

    public ValidationOptions {
        if (maxSeqLen < 0) throw new IllegalArgumentException("max_seq_len must be >= 0 (0 = no limit), got " + maxSeqLen);
        if (minAudioSeconds < 0 || Double.isNaN(minAudioSeconds)) {
            throw new IllegalArgumentException("min_audio_seconds must be >= 0, got " + minAudioSeconds);
        }
        if (maxAudioSeconds < 0 || Double.isNaN(maxAudioSeconds)) {
            throw new IllegalArgumentException("max_audio_seconds must be >= 0 (0 = no limit), got " + maxAudioSeconds);
        }
        if (maxAudioSeconds > 0 && minAudioSeconds > maxAudioSeconds) {
            throw new IllegalArgumentException("min_audio_seconds " + minAudioSeconds + " exceeds max_audio_seconds " + maxAudioSeconds);
        }
        if (warnInFull < 0) throw new IllegalArgumentException("warnInFull must be >= 0");
        if (promptLayout == null) throw new IllegalArgumentException("promptLayout must be given");
    }

    /** No limits; the first 10 invalid samples reported in full. */
    public static ValidationOptions defaults() {
        return new ValidationOptions(0, 0, 0, 10);
    }

    public ValidationOptions withMaxSeqLen(int n) {
        return new ValidationOptions(n, minAudioSeconds, maxAudioSeconds, warnInFull, promptLayout);
    }

    public ValidationOptions withPromptLayout(PromptLayout layout) {
        return new ValidationOptions(maxSeqLen, minAudioSeconds, maxAudioSeconds, warnInFull, layout);
    }
}
