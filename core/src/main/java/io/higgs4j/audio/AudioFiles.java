package io.higgs4j.audio;

import javazoom.jl.decoder.Bitstream;
import javazoom.jl.decoder.Decoder;
import javazoom.jl.decoder.Header;
import javazoom.jl.decoder.JavaLayerException;
import javazoom.jl.decoder.SampleBuffer;
import org.jflac.FLACDecoder;
import org.jflac.FrameListener;
import org.jflac.frame.Frame;
import org.jflac.metadata.Metadata;
import org.jflac.metadata.StreamInfo;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Reads WAV, FLAC and MP3 files as mono float samples at the file's own sample rate.
 *
 * <p>The format is told by the file's first bytes, not its name:
 * <ul>
 *   <li>"RIFF" -- WAV, read by {@link WavReader} (which says what it accepts).</li>
 *   <li>"fLaC" -- FLAC, decoded by jFLAC ({@code org.jflac:jflac-codec}, LGPL-2.1): 4 to 24 bits per sample, any
 *       number of channels. Integer samples are scaled by 2^-(bits-1) exactly as {@link WavReader} scales them, so a
 *       FLAC file reads equal, sample for sample, to the WAV it was encoded from.</li>
 *   <li>an ID3v2 tag or an MPEG audio frame header -- MP3 (MPEG-1, 2 or 2.5, Layer I, II or III), decoded by JLayer
 *       ({@code com.googlecode.soundlibs:jlayer}, LGPL-2.1) to 16-bit samples scaled by 2^-15. A Xing/LAME "Info"
 *       first frame is metadata and is skipped; otherwise the stream is returned as decoded, with the encoder's delay
 *       and end padding and the decoder's delay kept (not trimmed by gapless data), so the audio starts about a
 *       thousand samples late (576 + 529 for LAME) and ends up to a frame and a half after the source did. (An ID3v2
 *       tag followed by "fLaC" is FLAC.)</li>
 * </ul>
 * Channels are mixed to mono as their mean, as {@link WavReader} does.
 *
 * <p>Every problem is an {@link IOException} whose message starts with the file: an empty file, an unknown format, a
 * stream that ends early (a FLAC stream shorter than its header declares, an MP3 whose last frame is cut short), a
 * FLAC frame that fails its CRC or cannot be parsed, an MP3 less than half of whose bytes (tags aside) are decodable
 * frames, an unsupported bit depth, or anything the decoders throw on corrupt input. The whole file is read into
 * memory first (no stream stays open); the decoders only move forward through those bytes, and the output is capped
 * at {@link #MAX_SAMPLES}, so a corrupt file ends in an error, not a hang or an exhausted heap. jFLAC prints a line to
 * standard output for some corrupt frames; that cannot be turned off.
 */
public final class AudioFiles {

    private AudioFiles() {}

    /**
     * The most samples (frames, after mixing to mono) a file may decode to: about 93 minutes at 48 kHz. A few bytes of
     * FLAC or MP3 can claim a long stretch of audio, so a corrupt file could otherwise ask for gigabytes.
     */
    public static final int MAX_SAMPLES = 1 << 28;

    /**
     * The sample rates a file may declare: telephone-grade 8 kHz and studio 384 kHz sit well inside. A header that
     * claims 1 Hz turns a few kilobytes into hours of audio, which resampling to 24 kHz and encoding would spend
     * minutes and gigabytes on; such a header is wrong, so the file is refused.
     */
    public static final int MIN_SAMPLE_RATE = 1000, MAX_SAMPLE_RATE = 768_000;

    /** The message for a declared rate outside [MIN_SAMPLE_RATE, MAX_SAMPLE_RATE], or null when it is inside. */
    static String implausibleRate(long rate) {
        if (rate >= MIN_SAMPLE_RATE && rate <= MAX_SAMPLE_RATE) return null;
        return "its header declares a sample rate of " + rate + " Hz; rates from " + MIN_SAMPLE_RATE + " to " + MAX_SAMPLE_RATE
                + " Hz are read (the header is likely corrupt)";
    }

    /** Whether the file's name ends in .wav, .flac or .mp3 (any case): the files a folder scan should pass to {@link #read}. */
    public static boolean isAudioFile(Path file) {
        Path name = file.getFileName();
        if (name == null) return false;
        String n = name.toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".wav") || n.endsWith(".flac") || n.endsWith(".mp3");
    }

    /** Reads a WAV, FLAC or MP3 file (told apart by content) as mono samples in [-1, 1] at its own sample rate. */
    public static Audio read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        String source = file.toString();
        if (bytes.length == 0) throw error(source, "empty file");
        if (startsWith(bytes, 0, "RIFF")) return WavReader.read(bytes, source);
        // An ID3v2 tag (10-byte header, a syncsafe size, an optional 10-byte footer) may stand before MPEG audio, and
        // some tools put one before FLAC too: what follows it decides.
        int start = 0;
        if (startsWith(bytes, 0, "ID3") && bytes.length >= 10) {
            start = 10 + ((bytes[6] & 0x7F) << 21 | (bytes[7] & 0x7F) << 14 | (bytes[8] & 0x7F) << 7 | (bytes[9] & 0x7F))
                    + ((bytes[5] & 0x10) != 0 ? 10 : 0);
        }
        if (start > bytes.length) {
            throw error(source, "truncated: its ID3v2 tag declares " + start + " bytes but the file has " + bytes.length);
        }
        if (startsWith(bytes, start, "fLaC")) return readFlac(bytes, start, source);
        if (start > 0 || isMpegHeader(bytes, 0)) return readMp3(bytes, source);
        throw error(source, "unknown audio format (the file starts with " + hex(bytes, 0, 8)
                + "); expected WAV (\"RIFF\"), FLAC (\"fLaC\") or MP3 (an ID3 tag or an MPEG frame header)");
    }

    // ---------------------------------------------------------------- FLAC

    private static Audio readFlac(byte[] bytes, int start, String source) throws IOException {
        FLACDecoder decoder = new FLACDecoder(new ByteArrayInputStream(withOnlyStreamInfo(bytes, start, source)));
        // jFLAC reports a frame that fails its CRC only to listeners (and hands out zeros for it), and skips frames
        // it cannot parse after reporting them; a lossless stream with either is corrupt, so the first report is kept.
        String[] firstError = {null};
        decoder.addFrameListener(new FrameListener() {
            @Override public void processMetadata(Metadata metadata) {}
            @Override public void processFrame(Frame frame) {}
            @Override public void processError(String msg) { if (firstError[0] == null) firstError[0] = msg; }
        });
        try {
            decoder.readMetadata();
            StreamInfo info = decoder.getStreamInfo();
            if (info == null) throw error(source, "FLAC stream without a STREAMINFO block");
            if (implausibleRate(info.getSampleRate()) != null) throw error(source, implausibleRate(info.getSampleRate()));
            checkFlacBits(info.getBitsPerSample(), source);
            long declared = info.getTotalSamples(); // 0: not known
            Samples out = new Samples(source);
            // Stop at the declared length: past it jFLAC would try to parse whatever trails the stream as frames.
            while (declared == 0 || out.size < declared) {
                Frame frame = decoder.readNextFrame();
                if (frame == null) break; // the end of the input, or of what could be read of it
                if (firstError[0] != null) throw error(source, "corrupt FLAC stream (" + firstError[0] + ")");
                int bits = frame.header.bitsPerSample;
                checkFlacBits(bits, source);
                double scale = 1.0 / (1L << (bits - 1));
                int channels = frame.header.channels;
                int[][] pcm = new int[channels][];
                for (int c = 0; c < channels; c++) pcm[c] = decoder.getChannelData()[c].getOutput();
                out.reserve(frame.header.blockSize);
                for (int i = 0; i < frame.header.blockSize; i++) {
                    double sum = 0;
                    for (int c = 0; c < channels; c++) sum += pcm[c][i] * scale;
                    out.add((float) (sum / channels));
                }
            }
            if (declared > 0 && out.size < declared) {
                throw error(source, "truncated FLAC stream: " + out.size + " of the " + declared + " samples its header"
                        + " declares" + (firstError[0] != null ? " (first decoder error: " + firstError[0] + ")" : ""));
            }
            if (firstError[0] != null) throw error(source, "corrupt or truncated FLAC stream (" + firstError[0] + ")");
            return new Audio(out.toArray(), info.getSampleRate());
        } catch (EOFException e) {
            throw error(source, "truncated FLAC stream (it ends inside its metadata)");
        } catch (FileProblem e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw error(source, "corrupt FLAC stream (" + e + ")");
        }
    }

    /**
     * A copy of the FLAC stream at start whose metadata blocks other than STREAMINFO are marked PADDING, which jFLAC
     * skips unread. Nothing here needs them (tags, pictures, cue sheets, the seek table), and jFLAC sizes the arrays of
     * a VORBIS_COMMENT or PICTURE block by counts it reads from the file: a corrupt count of 2^31 in a 58-byte file
     * exhausted the heap. Every block must lie inside the file.
     */
    private static byte[] withOnlyStreamInfo(byte[] bytes, int start, String source) throws IOException {
        byte[] copy = bytes.clone();
        int at = start + 4; // past "fLaC"
        while (true) {
            if (at + 4 > copy.length) throw error(source, "truncated FLAC stream (it ends inside its metadata)");
            int header = copy[at] & 0xFF, type = header & 0x7F;
            int length = (copy[at + 1] & 0xFF) << 16 | (copy[at + 2] & 0xFF) << 8 | (copy[at + 3] & 0xFF);
            if ((long) at + 4 + length > copy.length) {
                throw error(source, "truncated FLAC stream: its metadata block at byte " + at + " declares " + length
                        + " bytes, past the end of the file");
            }
            if (type == 127) throw error(source, "corrupt FLAC stream: invalid metadata block type 127 at byte " + at);
            if (type != FLAC_STREAMINFO) copy[at] = (byte) (header & 0x80 | FLAC_PADDING);
            if ((header & 0x80) != 0) return copy; // the last metadata block
            at += 4 + length;
        }
    }

    private static final int FLAC_STREAMINFO = 0, FLAC_PADDING = 1;

    private static void checkFlacBits(int bits, String source) throws IOException {
        // jFLAC decodes into ints and its own PCM output stops at 24 bits; deeper streams (FLAC allows 32) are refused
        // rather than trusted to arithmetic it was not written for.
        if (bits < 4 || bits > 24) throw error(source, "unsupported FLAC bit depth " + bits + " (4 to 24 bits are read)");
    }

    // ---------------------------------------------------------------- MP3

    private static Audio readMp3(byte[] bytes, String source) throws IOException {
        // JLayer drops the last frame when anything but the end of the input follows it, so a trailing ID3v1 tag (128
        // bytes from "TAG") is left out of what it is given. (Other trailers, such as APE tags, still cost that frame.)
        int audioEnd = bytes.length >= 128 && startsWith(bytes, bytes.length - 128, "TAG") ? bytes.length - 128 : bytes.length;
        Bitstream stream = new Bitstream(new ByteArrayInputStream(bytes, 0, audioEnd));
        Decoder decoder = new Decoder();
        Samples out = new Samples(source);
        int rate = 0;
        boolean mono = false;
        int frames = 0;
        // JLayer neither says where a frame lies nor reports a last frame that the file cuts short (it drops it), so
        // the frames it returns are found in the bytes, past any junk it skipped: `end` is where the next one should
        // start, and `framed` counts the bytes in frames, to tell a damaged stream from one with a little junk.
        int end = stream.header_pos();
        long framed = 0;
        try {
            for (Header h; (h = stream.readFrame()) != null; frames++) {
                if (frames == 0) {
                    rate = h.frequency();
                    mono = h.mode() == Header.SINGLE_CHANNEL;
                } else if (h.frequency() != rate || (h.mode() == Header.SINGLE_CHANNEL) != mono) {
                    throw error(source, "MP3 stream changes from " + rate + " Hz " + (mono ? "mono" : "stereo") + " to "
                            + h.frequency() + " Hz " + (h.mode() == Header.SINGLE_CHANNEL ? "mono" : "stereo")
                            + " at frame " + frames);
                }
                int start = find(bytes, audioEnd, h.getSyncHeader(), end);
                end = start + h.framesize + 4; // framesize excludes the 4-byte header
                framed += h.framesize + 4;
                // A Xing/LAME "Info" first frame holds the stream's length and gapless data, not audio: it would
                // decode as a frame of silence, as no other decoder plays it.
                if (frames > 0 || !isXingFrame(bytes, start, h)) {
                    SampleBuffer pcm = (SampleBuffer) decoder.decodeFrame(h, stream);
                    short[] buf = pcm.getBuffer();
                    int channels = pcm.getChannelCount();
                    int n = pcm.getBufferLength() / channels;
                    out.reserve(n);
                    for (int i = 0; i < n; i++) {
                        int sum = 0;
                        for (int c = 0; c < channels; c++) sum += buf[i * channels + c];
                        out.add((float) (sum / (32768.0 * channels)));
                    }
                }
                stream.closeFrame();
            }
        } catch (FileProblem e) {
            throw e;
        } catch (JavaLayerException | RuntimeException e) {
            throw error(source, "corrupt MP3 stream at frame " + frames + " (" + e + ")");
        }
        if (frames == 0) throw error(source, "no MPEG audio frame found");
        if (end + 4 <= audioEnd && isMpegHeader(bytes, end) && end + frameLength(bytes, end) > audioEnd) {
            throw error(source, "truncated MP3 stream: the frame at byte " + end + " needs " + frameLength(bytes, end)
                    + " bytes but the audio ends after " + (audioEnd - end));
        }
        int audioBytes = audioEnd - stream.header_pos();
        if (framed < audioBytes / 2) {
            throw error(source, "corrupt MP3 stream: only " + framed + " of its " + audioBytes
                    + " bytes of audio are decodable frames");
        }
        return new Audio(out.toArray(), rate);
    }

    /** Whether the Layer III frame at {@code at} starts its data with a "Xing" or "Info" header (as LAME writes). */
    private static boolean isXingFrame(byte[] b, int at, Header h) {
        if (h.layer() != 3) return false;
        boolean mono = h.mode() == Header.SINGLE_CHANNEL;
        int sideInfo = h.version() == Header.MPEG1 ? (mono ? 17 : 32) : (mono ? 9 : 17);
        int tag = at + 4 + (h.checksums() ? 2 : 0) + sideInfo;
        return startsWith(b, tag, "Xing") || startsWith(b, tag, "Info");
    }

    /** Whether a valid MPEG audio frame header (sync, version, layer, bitrate and rate not reserved) starts at {@code at}. */
    private static boolean isMpegHeader(byte[] b, int at) {
        if (at < 0 || at + 4 > b.length) return false;
        int b1 = b[at + 1] & 0xFF, b2 = b[at + 2] & 0xFF;
        return (b[at] & 0xFF) == 0xFF && (b1 & 0xE0) == 0xE0 && (b1 >> 3 & 3) != 1 && (b1 >> 1 & 3) != 0
                && (b2 >> 4) != 15 && (b2 >> 2 & 3) != 3;
    }

    /**
     * The length in bytes of the MPEG audio frame whose header is at {@code at}, from the bitrate and sample rate
     * tables JLayer publishes (0 for a free-format frame, whose length the header does not give).
     */
    private static int frameLength(byte[] b, int at) {
        int b1 = b[at + 1] & 0xFF, b2 = b[at + 2] & 0xFF;
        int version = switch (b1 >> 3 & 3) {
            case 3 -> Header.MPEG1;
            case 2 -> Header.MPEG2_LSF;
            default -> Header.MPEG25_LSF;
        };
        int layer = 4 - (b1 >> 1 & 3);
        int bitrate = Header.bitrates[version][layer - 1][b2 >> 4];
        int rate = Header.frequencies[version][b2 >> 2 & 3];
        int padding = b2 >> 1 & 1;
        if (layer == 1) return (12 * bitrate / rate + padding) * 4;
        return (layer == 3 && version != Header.MPEG1 ? 72 : 144) * bitrate / rate + padding;
    }

    /** The offset of the 4-byte big-endian header in [from, limit) (or {@code from} if it is not there). */
    private static int find(byte[] b, int limit, int header, int from) {
        for (int i = Math.max(from, 0); i + 4 <= limit; i++) {
            if ((b[i] & 0xFF) == header >>> 24 && (b[i + 1] & 0xFF) == (header >>> 16 & 0xFF)
                    && (b[i + 2] & 0xFF) == (header >>> 8 & 0xFF) && (b[i + 3] & 0xFF) == (header & 0xFF)) return i;
        }
        return from;
    }

    // ---------------------------------------------------------------- helpers

    /** An error already phrased for the file, passed through the decoders' catch-alls unchanged. */
    private static final class FileProblem extends IOException {
        FileProblem(String message) { super(message); }
    }

    private static IOException error(String source, String problem) {
        return new FileProblem(source + ": " + problem);
    }

    /** A growing float array capped at {@link #MAX_SAMPLES}. */
    private static final class Samples {
        private final String source;
        private float[] data = new float[1 << 14];
        private int size;

        Samples(String source) { this.source = source; }

        void reserve(int more) throws IOException {
            if ((long) size + more > MAX_SAMPLES) {
                throw error(source, "decodes to more than " + MAX_SAMPLES + " samples (corrupt, or too long to read at once)");
            }
            if (size + more > data.length) data = Arrays.copyOf(data, (int) Math.min(MAX_SAMPLES, Math.max(2L * data.length, size + more)));
        }

        void add(float v) { data[size++] = v; }

        float[] toArray() { return Arrays.copyOf(data, size); }
    }

    private static boolean startsWith(byte[] b, int at, String magic) {
        return at >= 0 && at + magic.length() <= b.length
                && new String(b, at, magic.length(), StandardCharsets.ISO_8859_1).equals(magic);
    }

    private static String hex(byte[] b, int at, int n) {
        StringBuilder s = new StringBuilder();
        for (int i = at; i < Math.min(at + n, b.length); i++) s.append(i > at ? " " : "").append(String.format("%02x", b[i] & 0xFF));
        return s.toString();
    }
}
