package io.higgs4j.audio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads RIFF/WAVE files into mono float samples.
 *
 * <p>Formats: integer PCM (format tag 1) of 8 (unsigned), 16, 24 or 32 bits; IEEE float (tag 3) of 32 or 64 bits;
 * and WAVE_FORMAT_EXTENSIBLE (tag 0xFFFE) whose sub-format is one of those two. Any number of channels, mixed to
 * mono as the mean of the channels. Integer samples are scaled by 2^-(bits-1) (so they lie in [-1, 1)); float
 * samples are clamped to [-1, 1] and must be finite.
 *
 * <p>Chunks other than "fmt " and "data" are skipped; chunks of odd size are followed by a pad byte, as RIFF
 * requires (a missing pad byte at the very end of the file is tolerated). The RIFF size field is not trusted
 * (streaming writers leave it 0 or 0xFFFFFFFF); the chunks are read up to the end of the file. Anything else -- not
 * RIFF/WAVE, no fmt or data chunk, an unsupported format or bit depth, a data chunk longer than the file or not a
 * whole number of sample frames -- is a {@link WavFormatException} naming the file.
 */
public final class WavReader {

    private WavReader() {}

    private static final int TAG_PCM = 1;
    private static final int TAG_FLOAT = 3;
    private static final int TAG_EXTENSIBLE = 0xFFFE;
    /** The GUID tail shared by the KSDATAFORMAT_SUBTYPE_* GUIDs of PCM and IEEE float (bytes 2..15 as stored). */
    private static final byte[] SUBTYPE_TAIL = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, (byte) 0x80, 0x00, 0x00,
            (byte) 0xAA, 0x00, 0x38, (byte) 0x9B, 0x71};

    /** The format a file declares. */
    public record Format(int formatTag, int channels, int sampleRate, int bitsPerSample, int blockAlign) {}

    /** Reads a WAV file as mono. */
    public static Audio read(Path file) throws IOException {
        return read(Files.readAllBytes(file), file.toString());
    }

    /** Reads WAV bytes as mono; source names them in errors. */
    public static Audio read(byte[] bytes, String source) throws WavFormatException {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 12 || !tag(bytes, 0).equals("RIFF") || !tag(bytes, 8).equals("WAVE")) {
            String what = bytes.length < 12 ? "only " + bytes.length + " bytes" : "starts with '" + printable(bytes, 0) + "'/'"
                    + printable(bytes, 8) + "'";
            throw new WavFormatException(source, "not a RIFF/WAVE file (" + what + ")");
        }
        Format fmt = null;
        int dataOffset = -1;
        long dataSize = -1;
        int pos = 12;
        while (pos + 8 <= bytes.length) {
            String id = tag(bytes, pos);
            long size = Integer.toUnsignedLong(b.getInt(pos + 4));
            int body = pos + 8;
            long remaining = bytes.length - (long) body;
            if (id.equals("fmt ")) {
                if (size > remaining) throw new WavFormatException(source, "fmt chunk declares " + size + " bytes but only "
                        + remaining + " remain in the file");
                fmt = parseFormat(b, body, (int) size, source);
            } else if (id.equals("data")) {
                if (dataOffset >= 0) throw new WavFormatException(source, "more than one data chunk");
                if (size > remaining) throw new WavFormatException(source, "truncated: the data chunk declares " + size
                        + " bytes but only " + remaining + " remain in the file");
                dataOffset = body;
                dataSize = size;
            }
            long next = body + size + (size & 1);
            if (next > bytes.length) break; // a last chunk without its pad byte, or an unknown chunk cut short
            pos = (int) next;
        }
        if (fmt == null) throw new WavFormatException(source, "no fmt chunk" + (dataOffset >= 0 ? " before the end of the file" : ""));
        if (dataOffset < 0) throw new WavFormatException(source, "no data chunk");
        if (dataSize % fmt.blockAlign() != 0) {
            throw new WavFormatException(source, "truncated: the data chunk holds " + dataSize + " bytes, not a whole number of "
                    + fmt.blockAlign() + "-byte sample frames");
        }
        return new Audio(decode(b, dataOffset, (int) (dataSize / fmt.blockAlign()), fmt, source), fmt.sampleRate());
    }

    private static Format parseFormat(ByteBuffer b, int at, int size, String source) throws WavFormatException {
        if (size < 16) throw new WavFormatException(source, "fmt chunk too short (" + size + " bytes, need 16)");
        int tag = Short.toUnsignedInt(b.getShort(at));
        int channels = Short.toUnsignedInt(b.getShort(at + 2));
        long rate = Integer.toUnsignedLong(b.getInt(at + 4));
        int blockAlign = Short.toUnsignedInt(b.getShort(at + 12));
        int bits = Short.toUnsignedInt(b.getShort(at + 14));
        int effectiveTag = tag;
        if (tag == TAG_EXTENSIBLE) {
            if (size < 40) throw new WavFormatException(source, "WAVE_FORMAT_EXTENSIBLE fmt chunk too short (" + size
                    + " bytes, need 40)");
            int sub = Short.toUnsignedInt(b.getShort(at + 24));
            for (int i = 0; i < SUBTYPE_TAIL.length; i++) {
                if (b.get(at + 26 + i) != SUBTYPE_TAIL[i]) {
                    throw new WavFormatException(source, "unsupported WAVE_FORMAT_EXTENSIBLE sub-format (not PCM or IEEE float)");
                }
            }
            effectiveTag = sub;
        }
        if (effectiveTag != TAG_PCM && effectiveTag != TAG_FLOAT) {
            throw new WavFormatException(source, "unsupported format tag 0x" + Integer.toHexString(effectiveTag)
                    + (tag == TAG_EXTENSIBLE ? " (extensible sub-format)" : "") + "; only PCM (1) and IEEE float (3) are read");
        }
        boolean ok = effectiveTag == TAG_PCM ? bits == 8 || bits == 16 || bits == 24 || bits == 32 : bits == 32 || bits == 64;
        if (!ok) {
            throw new WavFormatException(source, "unsupported bit depth " + bits + " for " + (effectiveTag == TAG_PCM
                    ? "integer PCM (8, 16, 24 or 32)" : "IEEE float (32 or 64)"));
        }
        if (channels == 0) throw new WavFormatException(source, "fmt chunk declares 0 channels");
        if (AudioFiles.implausibleRate(rate) != null) throw new WavFormatException(source, AudioFiles.implausibleRate(rate));
        if (blockAlign != channels * (bits / 8)) {
            throw new WavFormatException(source, "block align " + blockAlign + " does not match " + channels + " channels of "
                    + bits + " bits");
        }
        return new Format(effectiveTag, channels, (int) rate, bits, blockAlign);
    }

    private static float[] decode(ByteBuffer b, int at, int frames, Format f, String source) throws WavFormatException {
        float[] out = new float[frames];
        int ch = f.channels();
        int bytesPer = f.bitsPerSample() / 8;
        boolean isFloat = f.formatTag() == TAG_FLOAT;
        int p = at;
        for (int i = 0; i < frames; i++) {
            double sum = 0;
            for (int c = 0; c < ch; c++, p += bytesPer) {
                double v;
                if (isFloat) {
                    v = bytesPer == 4 ? b.getFloat(p) : b.getDouble(p);
                    if (!Double.isFinite(v)) throw new WavFormatException(source, "non-finite float sample at frame " + i);
                    v = Math.max(-1.0, Math.min(1.0, v));
                } else {
                    v = switch (bytesPer) {
                        case 1 -> (Byte.toUnsignedInt(b.get(p)) - 128) / 128.0;
                        case 2 -> b.getShort(p) / 32768.0;
                        case 3 -> ((b.get(p) & 0xFF) | (b.get(p + 1) & 0xFF) << 8 | b.get(p + 2) << 16) / 8388608.0;
                        default -> b.getInt(p) / 2147483648.0;
                    };
                }
                sum += v;
            }
            out[i] = (float) (sum / ch);
        }
        return out;
    }

    private static String tag(byte[] bytes, int at) {
        return at + 4 <= bytes.length ? new String(bytes, at, 4, StandardCharsets.ISO_8859_1) : "";
    }

    private static String printable(byte[] bytes, int at) {
        StringBuilder s = new StringBuilder();
        for (int i = at; i < Math.min(at + 4, bytes.length); i++) {
            int c = bytes[i] & 0xFF;
            s.append(c >= 32 && c < 127 ? String.valueOf((char) c) : String.format("\\x%02x", c));
        }
        return s.toString();
    }
}
