package io.higgs4j.audio;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

class WavReaderTest {

    @TempDir
    Path dir;

    /** A RIFF/WAVE builder: chunks in order, odd-sized ones padded. */
    static final class Riff {
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();

        Riff chunk(String id, byte[] data) { return chunk(id, data, data.length, true); }

        Riff chunk(String id, byte[] data, long declared, boolean pad) {
            body.writeBytes(id.getBytes(StandardCharsets.US_ASCII));
            body.writeBytes(le32((int) declared));
            body.writeBytes(data);
            if (pad && (data.length & 1) == 1) body.write(0);
            return this;
        }

        byte[] bytes() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes("RIFF".getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(le32(4 + body.size()));
            out.writeBytes("WAVE".getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(body.toByteArray());
            return out.toByteArray();
        }
    }

    static byte[] le32(int v) { return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array(); }

    static byte[] fmt(int tag, int channels, int rate, int bits) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putShort((short) tag).putShort((short) channels)
                .putInt(rate).putInt(rate * channels * bits / 8).putShort((short) (channels * bits / 8))
                .putShort((short) bits).array();
    }

    static byte[] fmtExtensible(int subTag, int channels, int rate, int bits) {
        ByteBuffer b = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
        b.put(fmt(0xFFFE, channels, rate, bits)).putShort((short) 22).putShort((short) bits).putInt(3);
        b.putShort((short) subTag).put(new byte[] {0, 0, 0, 0, 0x10, 0, (byte) 0x80, 0, 0, (byte) 0xAA, 0, 0x38, (byte) 0x9B, 0x71});
        return b.array();
    }

    /** Interleaved frames of the given channel values, encoded as tag/bits. */
    static byte[] encode(double[][] frames, int tag, int bits) {
        ByteBuffer b = ByteBuffer.allocate(frames.length * frames[0].length * bits / 8).order(ByteOrder.LITTLE_ENDIAN);
        for (double[] f : frames) {
            for (double v : f) {
                if (tag == 3 && bits == 32) b.putFloat((float) v);
                else if (tag == 3) b.putDouble(v);
                else switch (bits) {
                    case 8 -> b.put((byte) (Math.round(v * 128) + 128));
                    case 16 -> b.putShort((short) Math.round(v * 32768));
                    case 24 -> { int s = (int) Math.round(v * 8388608); b.put((byte) s).put((byte) (s >> 8)).put((byte) (s >> 16)); }
                    default -> b.putInt((int) Math.round(v * 2147483648.0));
                }
            }
        }
        return b.array();
    }

    static final double[][] STEREO = {{0.5, -0.25}, {-1.0, -1.0}, {0.125, 0.375}, {0.0, 0.75}};
    static final float[] STEREO_MONO = {0.125f, -1.0f, 0.25f, 0.375f};

    private Audio read(byte[] bytes) throws Exception {
        Path p = dir.resolve("t.wav");
        Files.write(p, bytes);
        return WavReader.read(p);
    }

    @Test
    void pcmDepthsAndFloatAreMixedToMono() throws Exception {
        int[][] formats = {{1, 8}, {1, 16}, {1, 24}, {1, 32}, {3, 32}, {3, 64}};
        for (int[] f : formats) {
            for (boolean ext : new boolean[] {false, true}) {
                byte[] fmtBytes = ext ? fmtExtensible(f[0], 2, 44100, f[1]) : fmt(f[0], 2, 44100, f[1]);
                Audio a = read(new Riff().chunk("fmt ", fmtBytes).chunk("data", encode(STEREO, f[0], f[1])).bytes());
                assertEquals(44100, a.sampleRate());
                double tol = f[1] == 8 ? 1.0 / 128 : 1e-6;
                for (int i = 0; i < STEREO_MONO.length; i++) {
                    assertEquals(STEREO_MONO[i], a.samples()[i], tol, "tag " + f[0] + " bits " + f[1] + " ext " + ext + " i " + i);
                }
            }
        }
    }

    @Test
    void manyChannelsAndUnknownOddChunksAreHandled() throws Exception {
        double[][] six = {{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, {-0.6, 0, 0, 0, 0, 0}};
        byte[] bytes = new Riff().chunk("LIST", new byte[] {1, 2, 3}) // odd: padded
                .chunk("fmt ", fmt(1, 6, 16000, 16)).chunk("junk", new byte[5]).chunk("data", encode(six, 1, 16))
                .chunk("smpl", new byte[7]).bytes();
        Audio a = read(bytes);
        assertEquals(2, a.samples().length);
        assertEquals(0.35, a.samples()[0], 1e-4);
        assertEquals(-0.1, a.samples()[1], 1e-4);
    }

    @Test
    void writerRoundTrips() throws Exception {
        float[] x = new float[1001];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(i * 0.01) * 0.9f;
        Path p = dir.resolve("w.wav");
        WavWriter.write(p, x, 22050);
        Audio a = WavReader.read(p);
        assertEquals(22050, a.sampleRate());
        assertEquals(x.length, a.samples().length);
        for (int i = 0; i < x.length; i++) assertEquals(x[i], a.samples()[i], 2.0 / 32767); // written x 32767, read / 32768
        assertEquals(44 + 2 * x.length, Files.size(p));
    }

    private void assertFails(byte[] bytes, String... fragments) {
        Path p = dir.resolve("bad.wav");
        WavFormatException e = assertThrows(WavFormatException.class, () -> {
            Files.write(p, bytes);
            WavReader.read(p);
        });
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' in: " + e.getMessage());
    }

    @Test
    void errorsNameTheFileAndTheProblem() {
        byte[] data = encode(STEREO, 1, 16);
        assertFails("hello world, not a wav".getBytes(StandardCharsets.US_ASCII), "not a RIFF/WAVE");
        assertFails(new byte[3], "not a RIFF/WAVE");
        assertFails(new Riff().chunk("data", data).bytes(), "no fmt chunk");
        assertFails(new Riff().chunk("fmt ", fmt(1, 2, 8000, 16)).bytes(), "no data chunk");
        assertFails(new Riff().chunk("fmt ", fmt(2, 2, 8000, 16)).chunk("data", data).bytes(), "unsupported format tag 0x2");
        assertFails(new Riff().chunk("fmt ", fmt(1, 2, 8000, 12)).chunk("data", data).bytes(), "unsupported bit depth 12");
        assertFails(new Riff().chunk("fmt ", fmt(3, 2, 8000, 16)).chunk("data", data).bytes(), "unsupported bit depth 16");
        assertFails(new Riff().chunk("fmt ", fmtExtensible(2, 2, 8000, 16)).chunk("data", data).bytes(), "unsupported format tag");
        assertFails(new Riff().chunk("fmt ", fmt(1, 2, 8000, 16)).chunk("data", data, data.length + 100, false).bytes(),
                "truncated", "data chunk declares");
        assertFails(new Riff().chunk("fmt ", fmt(1, 2, 8000, 16)).chunk("data", Arrays.copyOf(data, data.length - 1)).bytes(),
                "truncated", "whole number");
        assertFails(new Riff().chunk("fmt ", new byte[10]).chunk("data", data).bytes(), "fmt chunk too short");
        assertFails(new Riff().chunk("fmt ", fmt(1, 0, 8000, 16)).chunk("data", data).bytes(), "0 channels");
    }

    @Test
    void missingFileIsAnIOException() {
        assertThrows(java.nio.file.NoSuchFileException.class, () -> WavReader.read(dir.resolve("none.wav")));
    }
}
