package io.higgs4j.trainer.data;

import io.higgs4j.audio.Audio;
import io.higgs4j.audio.Resampler;
import io.higgs4j.audio.WhisperFeatureExtractor;
import io.higgs4j.trainer.data.AudioCodes.InvalidSampleException;
import io.higgs4j.trainer.data.ChatMlSample.AudioItem;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A piece of an audio-in clip's waveform, mono at 16 kHz, for the Whisper front end (docs/MODEL.md section 9): either held in
 * memory or samples [from, from+length) of a WAV file (relative to the data file's directory, as codes are), decoded,
 * mixed to mono and resampled to 16 kHz when {@link #load()}ed, its length checked again on every read.
 *
 * <p>An audio item's {@code offset} and {@code duration} (seconds) select samples [round(offset*16000),
 * round((offset+duration)*16000)), the end clamped to the audio's length. {@link #chunks()} cuts a waveform into
 * 30-second pieces ({@value WhisperFeatureExtractor#CHUNK_SAMPLES} samples, the last one shorter): each becomes its
 * own audio-in clip with its own {@code <|AUDIO|>} placeholder.
 */
public final class Waveform {

    public static final int SAMPLE_RATE = WhisperFeatureExtractor.SAMPLE_RATE;
    public static final int CHUNK_SAMPLES = WhisperFeatureExtractor.CHUNK_SAMPLES;

    private final Path file;
    private final float[] data;
    private final int from;
    private final int length;

    private Waveform(Path file, float[] data, int from, int length) {
        this.file = file;
        this.data = data;
        this.from = from;
        this.length = length;
    }

    /** 16 kHz mono samples held in memory (not copied: callers must not change them). */
    public static Waveform of(float[] samples16k) {
        return new Waveform(null, samples16k, 0, samples16k.length);
    }

    /** Samples [from, from+length) at 16 kHz of a WAV file, read on each {@link #load()}. */
    public static Waveform file(Path file, int from, int length) {
        return new Waveform(file, null, from, length);
    }

    /** Samples at 16 kHz. */
    public int samples() {
        return length;
    }

    public double seconds() {
        return length / (double) SAMPLE_RATE;
    }

    /** Real log-mel frames of this waveform (one chunk at most): ceil(samples / 160). */
    public int melFrames() {
        return Math.ceilDiv(length, WhisperFeatureExtractor.HOP_LENGTH);
    }

    /** The WAV file, or null for samples in memory. */
    public Path file() {
        return file;
    }

    /** Samples [start, start+count) of this waveform. */
    public Waveform range(int start, int count) {
        if (start < 0 || count < 0 || start + count > length) {
            throw new IndexOutOfBoundsException("range [" + start + ", " + (start + count) + ") of " + length + " samples");
        }
        return new Waveform(file, data, from + start, count);
    }

    /** The 30-second chunks of this waveform, in order (one chunk, possibly empty, for a waveform of at most 30 s). */
    public List<Waveform> chunks() {
        int n = Math.max(1, Math.ceilDiv(length, CHUNK_SAMPLES));
        List<Waveform> out = new ArrayList<>(n);
        for (int j = 0; j < n; j++) {
            int start = j * CHUNK_SAMPLES;
            out.add(range(start, Math.min(CHUNK_SAMPLES, length - start)));
        }
        return out;
    }

    /** The samples, a fresh array. A file that changed since validation is an error naming it. */
    public float[] load() {
        if (data != null) return Arrays.copyOfRange(data, from, from + length);
        float[] all;
        try {
            all = decoded(file);
        } catch (IOException e) {
            throw new DataException("audio file " + file + " could no longer be read: " + e.getMessage());
        }
        if (all.length < from + length) {
            throw new DataException("audio file " + file + " changed since validation: " + all.length + " samples at 16 kHz, expected at least "
                    + (from + length));
        }
        return Arrays.copyOfRange(all, from, from + length);
    }

    @Override
    public String toString() {
        return (file != null ? file.toString() : "waveform in memory") + String.format(Locale.ROOT, " [%.2f s at 16 kHz", seconds())
                + (from > 0 ? String.format(Locale.ROOT, ", from %.2f s", from / (double) SAMPLE_RATE) : "") + "]";
    }

    // =====================================================================================================
    // Decoding, with a one-file cache (the chunks of one clip are loaded one after the other)
    // =====================================================================================================

    private record Cached(Path file, long size, long modified, float[] samples) { }

    private static Cached cache;

    /** The whole file at 16 kHz mono; the last file decoded is kept while its size and modification time stay. */
    static float[] decoded(Path file) throws IOException {
        long size = Files.size(file), modified = Files.getLastModifiedTime(file).toMillis();
        synchronized (Waveform.class) {
            Cached c = cache;
            if (c != null && c.file.equals(file) && c.size == size && c.modified == modified) return c.samples;
        }
        Audio a = io.higgs4j.audio.AudioFiles.read(file);
        float[] s = a.sampleRate() == SAMPLE_RATE ? a.samples() : Resampler.resample(a.samples(), a.sampleRate(), SAMPLE_RATE);
        synchronized (Waveform.class) {
            cache = new Cached(file, size, modified, s);
        }
        return s;
    }

    // =====================================================================================================
    // Resolving and checking an audio-in item's waveform
    // =====================================================================================================

    /**
     * Finds, reads and checks an audio-in item's waveform for Whisper: its {@code audio_url} is a WAV file that can be
     * read and has samples, and offset/duration fall inside it. No audio_url or no such file is
     * {@link Reason#MISSING_AUDIO_OR_CODES}; a file that is not a readable WAV, or one without samples, is
     * {@link Reason#UNREADABLE_AUDIO}.
     */
    public static Waveform open(ChatMlSample sample, AudioItem item) throws InvalidSampleException {
        ChatMlSample.Audio audio = item.audio();
        String what = "audio " + (audio.audioUrl() != null ? "'" + audio.audioUrl() + "'" : audio.audioCodes() != null
                ? "codes '" + audio.audioCodes() + "'" : "(raw_audio)") + " in message " + item.message() + " (" + item.role().wireName() + ")";
        if (audio.audioUrl() == null) {
            throw new InvalidSampleException(Reason.MISSING_AUDIO_OR_CODES, what + ": the Whisper encoder (encode_whisper_embed) needs the "
                    + "reference waveform; give it as \"audio_url\": \"file.wav\"" + (audio.hasRawAudio() ? " (raw_audio is not read yet)" : ""));
        }
        Path path = sample.baseDir().resolve(audio.audioUrl()).normalize();
        if (!Files.isRegularFile(path)) {
            throw new InvalidSampleException(Reason.MISSING_AUDIO_OR_CODES, what + ": the audio file " + path
                    + " does not exist; the Whisper encoder (encode_whisper_embed) needs the reference waveform");
        }
        float[] s;
        try {
            s = decoded(path);
        } catch (IOException e) {
            throw new InvalidSampleException(Reason.UNREADABLE_AUDIO, what + ": " + e.getMessage());
        }
        int n = s.length;
        if (n == 0) throw new InvalidSampleException(Reason.UNREADABLE_AUDIO, what + ": the audio file " + path + " has no samples");
        int start = 0, end = n;
        if (audio.offset() != null || audio.duration() != null) {
            double offset = audio.offset() == null ? 0 : audio.offset();
            start = (int) Math.min(Integer.MAX_VALUE, Math.round(offset * SAMPLE_RATE));
            if (start >= n) {
                throw new InvalidSampleException(Reason.BAD_STRUCTURE, what + ": offset " + offset + " s is at or past the end of its audio ("
                        + String.format(Locale.ROOT, "%.2f", n / (double) SAMPLE_RATE) + " s in " + path + ")");
            }
            if (audio.duration() != null) end = (int) Math.min(n, Math.round((offset + audio.duration()) * SAMPLE_RATE));
            if (end <= start) throw new InvalidSampleException(Reason.AUDIO_TOO_SHORT, what + ": duration " + audio.duration() + " s selects no sample");
        }
        return file(path, start, end - start);
    }
}
