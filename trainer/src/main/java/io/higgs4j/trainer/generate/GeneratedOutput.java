package io.higgs4j.trainer.generate;

import io.higgs4j.audio.Audio;
import io.higgs4j.audio.WavWriter;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.io.Npy;
import io.higgs4j.tokenizer.HiggsAudioTokenizer;
import io.higgs4j.torch.Tensor;
import io.higgs4j.trainer.data.AtomicFile;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/** Reading the codes a generation starts from, and writing what it made: whole files or none. */
public final class GeneratedOutput {

    private GeneratedOutput() { }

    /**
     * Writes the codes (K x T int64 .npy) and/or their audio (24 kHz WAV, decoded first, so a decoding error writes
     * nothing). Either path may be null.
     */
    public static void write(long[][] codes, HiggsAudioTokenizer tokenizer, Path wav, Path codesNpy) throws IOException {
        Audio audio = wav == null ? null : tokenizer.decode(codes);
        if (codesNpy != null) AtomicFile.write(codesNpy, tmp -> Npy.write(tmp, codes, "<i8"));
        if (wav != null) AtomicFile.write(wav, tmp -> WavWriter.write(tmp, audio));
    }

    /** A reference recording (WAV, FLAC or MP3); what names where it was given, for the message. */
    public static io.higgs4j.audio.Audio readReference(Path file, String what) {
        try {
            return io.higgs4j.audio.AudioFiles.read(file);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(what + " " + file + " is not a readable audio file: " + e.getMessage());
        }
    }

    /** A reference recording's codes by the audio tokenizer; what names where it was given, for the message. */
    public static long[][] encodeReference(HiggsAudioTokenizer tokenizer, io.higgs4j.audio.Audio audio, Path file, String what) {
        try {
            return tokenizer.encode(audio);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(what + " " + file + " cannot be encoded: " + e.getMessage());
        }
    }

    /** A reference clip's codes: K x T, K the model's codebooks, every code in [0, codebook size). */
    public static long[][] readCodes(Path npy, HiggsAudioConfig config) throws IOException {
        long[][] rows = read(npy, config);
        for (long[] row : rows) {
            for (long c : row) {
                if (c < 0 || c >= config.audioCodebookSize()) {
                    throw new IllegalArgumentException(npy + ": code " + c + " is outside the codebook 0.." + (config.audioCodebookSize() - 1));
                }
            }
        }
        if (rows[0].length == 0) throw new IllegalArgumentException(npy + " holds no frames");
        return rows;
    }

    /** The collator's int64 audio ids for a prompt: K x columns (stream BOS/EOS allowed), as a tensor. */
    public static Tensor readColumns(Path npy, HiggsAudioConfig config) throws IOException {
        long[][] rows = read(npy, config);
        long[] flat = new long[rows.length * rows[0].length];
        for (int r = 0; r < rows.length; r++) System.arraycopy(rows[r], 0, flat, r * rows[0].length, rows[0].length);
        return Tensor.of(flat, rows.length, rows[0].length);
    }

    private static long[][] read(Path npy, HiggsAudioConfig config) throws IOException {
        Npy.LongArray a;
        try {
            a = Npy.read(npy);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(npy + " is not a readable .npy of integer codes: " + e.getMessage());
        }
        if (a.dim() != 2 || a.shape()[0] != config.audioNumCodebooks()) {
            throw new IllegalArgumentException(npy + ": expected codes of " + config.audioNumCodebooks() + " codebooks (K x T), got shape "
                    + Arrays.toString(a.shape()));
        }
        return a.rows();
    }
}
