package io.higgs4j.trainer.data;

import java.util.Locale;

/**
 * Why a sample is invalid; {@link #key()} is its name in the validation report. Each invalid sample is counted once,
 * under the first check it fails: its JSON and structure, then each audio item in turn (codes file, its contents,
 * clip duration), then literal placeholder tokens in its text, supervision and length.
 */
public enum Reason {
    /** The JSONL line is not valid JSON. */
    UNPARSEABLE("unparseable"),
    /** Valid JSON but not a ChatML sample: missing or mistyped fields, unknown role or content type, a literal audio placeholder token in text. */
    BAD_STRUCTURE("bad_structure"),
    /**
     * An audio item has neither an {@code audio_codes} file nor a {@code .codes.npy} beside its audio; or, under Whisper
     * (encode_whisper_embed), an audio-in item has no {@code audio_url} WAV file.
     */
    MISSING_AUDIO_OR_CODES("missing_audio_or_codes"),
    /**
     * A codes file exists but cannot be read as a 2-d integer .npy with at least one frame; or, under Whisper, an
     * audio-in item's WAV file cannot be read (not RIFF/WAVE, an unsupported format) or has no samples.
     */
    UNREADABLE_AUDIO("unreadable_audio"),
    /** The codes have a number of rows other than the model's audio_num_codebooks. */
    WRONG_CODEBOOK_COUNT("wrong_codebook_count"),
    /** A code is outside 0 .. audio_codebook_size-1. */
    CODE_OUT_OF_RANGE("code_out_of_range"),
    /** A clip is shorter than --min_audio_seconds (frames / 25). */
    AUDIO_TOO_SHORT("audio_too_short"),
    /** A clip is longer than --max_audio_seconds. */
    AUDIO_TOO_LONG("audio_too_long"),
    /** No label is trained: no assistant turn at or after start_index. */
    NOTHING_SUPERVISED("nothing_supervised"),
    /** The merged sequence (text tokens with each audio placeholder replaced by its clip's columns) exceeds --max_seq_len. */
    TOO_LONG("too_long");

    private final String key;

    Reason(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }

    @Override
    public String toString() {
        return key.replace('_', ' ').toLowerCase(Locale.ROOT);
    }
}
