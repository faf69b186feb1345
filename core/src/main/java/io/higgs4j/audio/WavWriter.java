package io.higgs4j.audio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes mono 16-bit PCM WAV files: samples clamped to [-1, 1], scaled by 32767 and rounded. */
public final class WavWriter {

    private WavWriter() {}

    public static void write(Path file, Audio audio) throws IOException {
        write(file, audio.samples(), audio.sampleRate());
    }

    public static void write(Path file, float[] samples, int sampleRate) throws IOException {
        Files.write(file, bytes(samples, sampleRate));
    }

    /** The bytes of a mono PCM16 WAV file: a 44-byte header and the samples. */
    public static byte[] bytes(float[] samples, int sampleRate) {
        if (sampleRate <= 0) throw new IllegalArgumentException("sample rate must be positive, got " + sampleRate);
        long dataBytes = 2L * samples.length;
        if (dataBytes + 36 > 0xFFFFFFFFL) throw new IllegalArgumentException("too many samples for a WAV file: " + samples.length);
        ByteBuffer b = ByteBuffer.allocate((int) (44 + dataBytes)).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt((int) (36 + dataBytes)).put("WAVE".getBytes(StandardCharsets.US_ASCII));
        b.put("fmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1).putShort((short) 1)
                .putInt(sampleRate).putInt(sampleRate * 2).putShort((short) 2).putShort((short) 16);
        b.put("data".getBytes(StandardCharsets.US_ASCII)).putInt((int) dataBytes);
        for (float s : samples) {
            double v = Float.isNaN(s) ? 0 : Math.max(-1.0, Math.min(1.0, s));
            b.putShort((short) Math.round(v * 32767.0));
        }
        return b.array();
    }
}
