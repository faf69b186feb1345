package io.higgs4j.trainer.data;

import io.higgs4j.io.Npy;
import io.higgs4j.trainer.data.ChatMlSample.Audio;
import io.higgs4j.trainer.data.ChatMlSample.AudioItem;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * The codes of one audio clip, K x T (K codebooks, T frames at 25 per second): either held in memory or read from
 * a NumPy .npy file when needed (only the clip's frame range, checked again on every read).
 *
 * <p>Where an audio item's codes come from, in order (docs/MODEL.md section 8; relative paths resolve against the data file's
 * directory):
 * <ol>
 *   <li>its {@code "audio_codes"} field, an .npy file (int16/int32/int64, shape K x T);</li>
 *   <li>the file beside its audio named like the audio with {@code .codes.npy} replacing the extension
 *       ({@code clips/a.wav} -> {@code clips/a.codes.npy});</li>
 *   <li>otherwise the audio tokenizer writes that file first ({@code higgs4j encode-audio}, or {@code train
 *       --audio_tokenizer_path}; see {@link CodesEncoder}).</li>
 * </ol>
 * An item's {@code offset} and {@code duration} (seconds) select frames [round(offset*25), round((offset+duration)*25))
 * of those codes, the end clamped to T.
 */
public final class AudioCodes {

    /** Frames per second of the Higgs audio tokenizer. */
    public static final double FRAMES_PER_SECOND = 25.0;

    private final Path file;
    private final long[][] data;
    private final int numCodebooks;
    private final int from;
    private final int frames;

    private AudioCodes(Path file, long[][] data, int numCodebooks, int from, int frames) {
        this.file = file;
        this.data = data;
        this.numCodebooks = numCodebooks;
        this.from = from;
        this.frames = frames;
    }

    /** Codes held in memory (copied), K x T. */
    public static AudioCodes of(long[][] codes) {
        if (codes.length == 0) throw new IllegalArgumentException("codes have no codebook rows");
        long[][] copy = new long[codes.length][];
        for (int k = 0; k < codes.length; k++) {
            if (codes[k].length != codes[0].length) throw new IllegalArgumentException("codes are ragged: row " + k + " has "
                    + codes[k].length + " frames, row 0 has " + codes[0].length);
            copy[k] = codes[k].clone();
        }
        return new AudioCodes(null, copy, codes.length, 0, codes[0].length);
    }

    /** Frames [from, from+frames) of the K-row codes in an .npy file, read on each {@link #load()}. */
    public static AudioCodes file(Path file, int numCodebooks, int from, int frames) {
        return new AudioCodes(file, null, numCodebooks, from, frames);
    }

    public int frames() {
        return frames;
    }

    /** Frames [start, start+count) of these codes (the 30-second chunks of an audio-in clip under Whisper). */
    public AudioCodes range(int start, int count) {
        if (start < 0 || count < 0 || start + count > frames) {
            throw new IndexOutOfBoundsException("frames [" + start + ", " + (start + count) + ") of " + frames);
        }
        if (data == null) return new AudioCodes(file, null, numCodebooks, from + start, count);
        long[][] part = new long[numCodebooks][];
        for (int k = 0; k < numCodebooks; k++) part[k] = Arrays.copyOfRange(data[k], start, start + count);
        return new AudioCodes(null, part, numCodebooks, 0, count);
    }

    public int numCodebooks() {
        return numCodebooks;
    }

    public double seconds() {
        return frames / FRAMES_PER_SECOND;
    }

    /** The .npy file, or null for codes in memory. */
    public Path file() {
        return file;
    }

    /** The codes, K x T, a fresh array. A file that changed since validation is an error naming it. */
    public long[][] load() {
        if (data != null) {
            long[][] out = new long[data.length][];
            for (int k = 0; k < data.length; k++) out[k] = data[k].clone();
            return out;
        }
        Npy.LongArray a;
        try {
            a = Npy.read(file);
        } catch (IOException e) {
            throw new DataException("codes file " + file + " could no longer be read: " + e.getMessage());
        }
        if (a.dim() != 2 || a.shape()[0] != numCodebooks || a.shape()[1] < from + frames) {
            throw new DataException("codes file " + file + " changed since validation: shape " + Arrays.toString(a.shape())
                    + ", expected " + numCodebooks + " rows and at least " + (from + frames) + " frames");
        }
        long[][] out = new long[numCodebooks][];
        int t = (int) a.shape()[1];
        for (int k = 0; k < numCodebooks; k++) out[k] = Arrays.copyOfRange(a.data(), k * t + from, k * t + from + frames);
        return out;
    }

    @Override
    public String toString() {
        return (file != null ? file.toString() : "codes in memory") + " [" + numCodebooks + " x " + frames
                + (from > 0 ? ", from frame " + from : "") + "]";
    }

    // =====================================================================================================
    // Resolving and checking an audio item's codes
    // =====================================================================================================

    /** A sample that fails a check; the reason is counted in the validation report. */
    public static final class InvalidSampleException extends Exception {
        private final Reason reason;

        public InvalidSampleException(Reason reason, String message) {
            super(message);
            this.reason = reason;
        }

        public Reason reason() {
            return reason;
        }
    }

    /** The .npy file that holds an item's codes (it may not exist): audio_codes, else the audio's .codes.npy. */
    public static Path codesPath(Path baseDir, Audio audio) {
        if (audio.audioCodes() != null) return baseDir.resolve(audio.audioCodes()).normalize();
        if (audio.audioUrl() == null) return null;
        return baseDir.resolve(siblingCodesName(audio.audioUrl())).normalize();
    }

    /** {@code dir/a.wav} -> {@code dir/a.codes.npy}; a name without extension gets {@code .codes.npy} appended. */
    public static String siblingCodesName(String audioUrl) {
        int slash = Math.max(audioUrl.lastIndexOf('/'), audioUrl.lastIndexOf('\\'));
        int dot = audioUrl.lastIndexOf('.');
        String stem = dot > slash + 1 ? audioUrl.substring(0, dot) : audioUrl;
        return stem + ".codes.npy";
    }

    /**
     * Finds, reads and checks an item's codes: the file exists and is a 2-d integer .npy with K rows and at least one
     * frame, every code is in 0..codebookSize-1, offset/duration fall inside it. Returns the clip (read again lazily).
     */
    public static AudioCodes open(ChatMlSample sample, AudioItem item, int numCodebooks, int codebookSize) throws InvalidSampleException {
        Audio audio = item.audio();
        String what = "audio " + (audio.audioUrl() != null ? "'" + audio.audioUrl() + "'" : audio.audioCodes() != null
                ? "codes '" + audio.audioCodes() + "'" : "(raw_audio)") + " in message " + item.message() + " (" + item.role().wireName() + ")";
        Path path = codesPath(sample.baseDir(), audio);
        if (path == null) {
            throw new InvalidSampleException(Reason.MISSING_AUDIO_OR_CODES, what + ": raw_audio without audio_codes needs the audio "
                    + "tokenizer to read; give the clip as \"audio_url\": \"file.wav\" or its codes as \"audio_codes\": \"file.npy\"");
        }
        if (!Files.isRegularFile(path)) {
            String why;
            if (audio.audioCodes() != null) {
                why = "its audio_codes file " + path + " does not exist";
            } else {
                Path audioFile = sample.baseDir().resolve(audio.audioUrl()).normalize();
                why = "no codes file " + path + (Files.exists(audioFile)
                        ? " (the audio exists: encode it with 'higgs4j encode-audio --audio_tokenizer_path DIR', or train with --audio_tokenizer_path DIR)"
                        : " and the audio file " + audioFile + " does not exist either");
            }
            throw new InvalidSampleException(Reason.MISSING_AUDIO_OR_CODES, what + ": " + why);
        }
        Npy.LongArray a;
        try {
            a = Npy.read(path);
        } catch (IOException e) {
            throw new InvalidSampleException(Reason.UNREADABLE_AUDIO, what + ": " + e.getMessage());
        }
        if (a.dim() != 2) {
            throw new InvalidSampleException(Reason.UNREADABLE_AUDIO, what + ": codes file " + path + " has shape "
                    + Arrays.toString(a.shape()) + "; expected 2-d K x T (codebooks x frames)");
        }
        long k = a.shape()[0], t = a.shape()[1];
        if (k != numCodebooks) {
            String hint = t == numCodebooks ? " (it looks transposed: save it as K x T)" : "";
            throw new InvalidSampleException(Reason.WRONG_CODEBOOK_COUNT, what + ": codes file " + path + " has " + k
                    + " codebooks (shape " + Arrays.toString(a.shape()) + "), the model has " + numCodebooks + hint);
        }
        if (t == 0) throw new InvalidSampleException(Reason.UNREADABLE_AUDIO, what + ": codes file " + path + " has no frames");
        long[] d = a.data();
        for (int i = 0; i < d.length; i++) {
            if (d[i] < 0 || d[i] >= codebookSize) {
                throw new InvalidSampleException(Reason.CODE_OUT_OF_RANGE, what + ": codes file " + path + " holds code " + d[i]
                        + " at codebook " + (i / t) + ", frame " + (i % t) + "; codes must be in 0.." + (codebookSize - 1));
            }
        }
        int from = 0, frames = (int) t;
        if (audio.offset() != null || audio.duration() != null) {
            double offset = audio.offset() == null ? 0 : audio.offset();
            from = (int) Math.round(offset * FRAMES_PER_SECOND);
            if (from >= t) {
                throw new InvalidSampleException(Reason.BAD_STRUCTURE, what + ": offset " + offset + " s is at or past the end of its codes ("
                        + String.format(Locale.ROOT, "%.2f", t / FRAMES_PER_SECOND) + " s in " + path + ")");
            }
            long end = audio.duration() == null ? t : Math.min(t, Math.round((offset + audio.duration()) * FRAMES_PER_SECOND));
            frames = (int) (end - from);
            if (frames <= 0) throw new InvalidSampleException(Reason.AUDIO_TOO_SHORT, what + ": duration " + audio.duration() + " s selects no frame");
        }
        return file(path, numCodebooks, from, frames);
    }
}
