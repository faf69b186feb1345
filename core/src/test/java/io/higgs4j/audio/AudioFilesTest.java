package io.higgs4j.audio;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** AudioFiles on the fixtures of src/test/resources/audio (see make_fixtures.sh there) and on broken files. */
class AudioFilesTest {

    @TempDir
    Path dir;

    static Path fixture(String name) {
        try {
            return Path.of(AudioFilesTest.class.getResource("/audio/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    // ---------------------------------------------------------------- FLAC: lossless

    @Test
    void monoFlacDecodesBitExactlyToItsSourceWav() throws IOException {
        Audio wav = AudioFiles.read(fixture("tone_16k_mono.wav"));
        Audio flac = AudioFiles.read(fixture("tone_16k_mono.flac"));
        assertEquals(16000, wav.sampleRate());
        assertEquals(16000, flac.sampleRate());
        assertEquals(8000, flac.samples().length);
        assertArrayEquals(wav.samples(), flac.samples()); // float equality, bit for bit
    }

    @Test
    void stereoFlacIsMixedToMonoExactlyAsTheWav() throws IOException {
        Audio wav = AudioFiles.read(fixture("tone_44k_stereo.wav"));
        Audio flac = AudioFiles.read(fixture("tone_44k_stereo.flac"));
        assertEquals(44100, flac.sampleRate());
        assertEquals(13230, flac.samples().length); // 0.3 s of frames, not 2 x 13230 interleaved values
        assertArrayEquals(wav.samples(), flac.samples());
        assertMixOfBothChannels(flac);
    }

    // ---------------------------------------------------------------- MP3: lossy

    @Test
    void monoMp3DecodesCloseToItsSource() throws IOException {
        Path mp3 = fixture("tone_16k_mono.mp3");
        Audio decoded = AudioFiles.read(mp3);
        assertEquals(16000, decoded.sampleRate());
        assertCloseToSource(AudioFiles.read(fixture("tone_16k_mono.wav")).samples(), decoded.samples(), mp3, 576);
    }

    @Test
    void stereoMp3WithId3TagsDecodesCloseToItsSourceMixedToMono() throws IOException {
        Path mp3 = fixture("tone_44k_stereo.mp3");
        byte[] bytes = Files.readAllBytes(mp3);
        assertEquals("ID3", new String(bytes, 0, 3, StandardCharsets.ISO_8859_1)); // the fixture is as make_fixtures.sh says
        assertEquals("TAG", new String(bytes, bytes.length - 128, 3, StandardCharsets.ISO_8859_1));
        Audio decoded = AudioFiles.read(mp3);
        assertEquals(44100, decoded.sampleRate());
        assertCloseToSource(AudioFiles.read(fixture("tone_44k_stereo.wav")).samples(), decoded.samples(), mp3, 1152);
        assertMixOfBothChannels(decoded);
    }

    /**
     * The decoded MP3 correlates above 0.95 with the source at the best lag within +-2000 samples, and that lag is the
     * encoder delay from LAME's header plus the 529-sample decoder delay (a tone also correlates well a few periods
     * off, so the lag is checked too). Its length is the source's plus at most one frame and LAME's delay and padding.
     */
    static void assertCloseToSource(float[] source, float[] decoded, Path mp3, int frameSize) throws IOException {
        int[] delayAndPadding = lameDelayAndPadding(Files.readAllBytes(mp3));
        int added = delayAndPadding[0] + delayAndPadding[1];
        assertTrue(decoded.length >= source.length, "decoded " + decoded.length + " < source " + source.length);
        assertTrue(decoded.length - source.length <= frameSize + added,
                "decoded " + decoded.length + " samples; source " + source.length + ", frame " + frameSize + ", LAME delay+padding " + added);
        double best = -1;
        int bestLag = 0;
        for (int lag = -2000; lag <= 2000; lag++) {
            double c = correlation(source, decoded, lag);
            if (c > best) {
                best = c;
                bestLag = lag;
            }
        }
        assertTrue(best > 0.95, "best correlation " + best + " at lag " + bestLag);
        assertEquals(delayAndPadding[0] + 529, bestLag, 2, "lag of the best correlation");
        for (float v : decoded) assertTrue(v >= -1f && v <= 1f);
    }

    /** Normalised correlation of source[i] with decoded[i + lag] over the samples both have. */
    static double correlation(float[] source, float[] decoded, int lag) {
        double sd = 0, ss = 0, dd = 0;
        for (int i = Math.max(0, -lag); i < source.length && i + lag < decoded.length; i++) {
            double s = source[i], d = decoded[i + lag];
            sd += s * d;
            ss += s * s;
            dd += d * d;
        }
        return ss == 0 || dd == 0 ? 0 : sd / Math.sqrt(ss * dd);
    }

    /** The encoder delay and end padding (in samples) from the LAME tag in the first frame's "Info"/"Xing" header. */
    static int[] lameDelayAndPadding(byte[] mp3) {
        String text = new String(mp3, StandardCharsets.ISO_8859_1);
        int info = Math.max(text.indexOf("Info"), text.indexOf("Xing"));
        assertTrue(info > 0, "no Info/Xing header");
        int lame = info + 120; // "Info", flags, frame count, byte count, 100-byte TOC, quality: all present in LAME's CBR header
        assertEquals("LAME", text.substring(lame, lame + 4));
        int b0 = mp3[lame + 21] & 0xFF, b1 = mp3[lame + 22] & 0xFF, b2 = mp3[lame + 23] & 0xFF;
        return new int[] {b0 << 4 | b1 >> 4, (b1 & 0xF) << 8 | b2};
    }

    /** Left is 440 Hz, right 1320 Hz at the same level: their mean holds both, equally. */
    static void assertMixOfBothChannels(Audio a) {
        double low = amplitude(a.samples(), 440, a.sampleRate()), high = amplitude(a.samples(), 1320, a.sampleRate());
        assertTrue(low > 0.05 && high > 0.05, "440 Hz: " + low + ", 1320 Hz: " + high);
        assertEquals(1.0, low / high, 0.1);
    }

    static double amplitude(float[] x, double hz, int rate) {
        double re = 0, im = 0;
        for (int i = 0; i < x.length; i++) {
            re += x[i] * Math.cos(2 * Math.PI * hz * i / rate);
            im -= x[i] * Math.sin(2 * Math.PI * hz * i / rate);
        }
        return 2 * Math.hypot(re, im) / x.length;
    }

    // ---------------------------------------------------------------- by content, not by name

    @Test
    void theFormatIsToldByContentNotByName() throws IOException {
        Path misnamed = dir.resolve("actually-flac.mp3");
        Files.copy(fixture("tone_16k_mono.flac"), misnamed);
        assertArrayEquals(AudioFiles.read(fixture("tone_16k_mono.wav")).samples(), AudioFiles.read(misnamed).samples());
    }

    // ---------------------------------------------------------------- broken files

    @Test
    void truncatedFlacIsAnError() throws IOException {
        byte[] flac = Files.readAllBytes(fixture("tone_44k_stereo.flac"));
        assertFails("cut.flac", Arrays.copyOf(flac, flac.length * 6 / 10), "truncated");
    }

    @Test
    void flacCutInsideItsMetadataIsAnError() throws IOException {
        assertFails("head.flac", Arrays.copyOf(Files.readAllBytes(fixture("tone_16k_mono.flac")), 20), "truncated");
    }

    /**
     * Tags are not read: a VORBIS_COMMENT block claiming 2^31 - 16 comments (jFLAC allocated an array that size, an
     * OutOfMemoryError from a 58-byte file) leaves the samples as they are; a block running past the end is an error.
     */
    @Test
    void flacMetadataBeyondStreamInfoIsNotRead() throws IOException {
        byte[] flac = Files.readAllBytes(fixture("tone_16k_mono.flac"));
        assertEquals(0, flac[4] & 0x7F, "STREAMINFO first");
        int afterStreamInfo = 4 + 4 + 34;
        byte[] comment = {4, 0, 0, 8, /* vendor length */ 0, 0, 0, 0, /* comment count, little-endian */ (byte) 0xF0, -1, -1, 0x7F};
        comment[0] |= (byte) (flac[4] & 0x80); // last if STREAMINFO was
        byte[] tagged = new byte[flac.length + comment.length];
        System.arraycopy(flac, 0, tagged, 0, afterStreamInfo);
        tagged[4] &= 0x7F;
        System.arraycopy(comment, 0, tagged, afterStreamInfo, comment.length);
        System.arraycopy(flac, afterStreamInfo, tagged, afterStreamInfo + comment.length, flac.length - afterStreamInfo);
        Path file = dir.resolve("tagged.flac");
        Files.write(file, tagged);
        assertArrayEquals(AudioFiles.read(fixture("tone_16k_mono.flac")).samples(), AudioFiles.read(file).samples());

        byte[] overlong = Arrays.copyOf(flac, flac.length);
        overlong[afterStreamInfo + 1] = 0x7F; // the block after STREAMINFO now claims 8 MB
        assertFails("overlong.flac", overlong, "past the end of the file");
        assertFails("comment-only.flac", Arrays.copyOf(tagged, afterStreamInfo + comment.length), "FLAC");
    }

    @Test
    void flacFrameFailingItsCrcIsAnError() throws IOException {
        byte[] flac = Files.readAllBytes(fixture("tone_44k_stereo.flac"));
        flac[flac.length / 2] ^= 0x55; // inside a frame's residual, as it happens
        assertFails("flipped.flac", flac, "corrupt FLAC stream (CRC");
    }

    @Test
    void flacDeeperThan24BitsIsUnsupported() throws IOException {
        byte[] flac = Files.readAllBytes(fixture("tone_16k_mono.flac"));
        // STREAMINFO follows "fLaC" and its 4-byte block header; bits-per-sample minus one is the 5 bits that start
        // with the last bit of byte 20: set them to 31.
        flac[20] |= 0x01;
        flac[21] |= (byte) 0xF0;
        assertFails("deep.flac", flac, "unsupported FLAC bit depth 32");
    }

    @Test
    void truncatedMp3IsAnError() throws IOException {
        for (String name : new String[] {"tone_16k_mono.mp3", "tone_44k_stereo.mp3"}) {
            byte[] mp3 = Files.readAllBytes(fixture(name));
            // The stereo file ends in a 128-byte ID3v1 tag; cutting at 60% lands inside a frame in both.
            assertFails("cut-" + name, Arrays.copyOf(mp3, mp3.length * 6 / 10), "truncated");
        }
    }

    @Test
    void randomBytesNamedMp3AreAnUnknownFormat() throws IOException {
        byte[] noise = new byte[4096];
        new Random(7).nextBytes(noise);
        assertFails("noise.mp3", noise, "unknown audio format");
    }

    @Test
    void emptyFileIsAnError() throws IOException {
        assertFails("empty.wav", new byte[0], "empty file");
        assertFails("empty.mp3", new byte[0], "empty file");
    }

    @Test
    void id3TagLongerThanTheFileIsAnError() throws IOException {
        assertFails("tag-only.mp3", new byte[] {'I', 'D', '3', 3, 0, 0, 0, 0, 0x7F, 0x7F}, "truncated");
    }

    /**
     * A valid start followed by garbage: the decoders must end, within the time bound, either with audio or with an
     * IOException naming the file -- never with another exception or a hang.
     */
    @Test
    void garbageAfterAValidStartEndsPromptly() throws IOException {
        Random random = new Random(11);
        for (String name : new String[] {"tone_16k_mono.flac", "tone_44k_stereo.flac", "tone_16k_mono.mp3", "tone_44k_stereo.mp3"}) {
            byte[] good = Files.readAllBytes(fixture(name));
            for (int keep : new int[] {4, 64, 600}) {
                byte[] bad = Arrays.copyOf(good, 64 * 1024);
                byte[] tail = new byte[bad.length - keep];
                random.nextBytes(tail);
                System.arraycopy(tail, 0, bad, keep, tail.length);
                Path file = dir.resolve("garbage-" + keep + "-" + name);
                Files.write(file, bad);
                assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
                    try {
                        Audio a = AudioFiles.read(file);
                        for (float v : a.samples()) assertTrue(v >= -1f && v <= 1f);
                    } catch (IOException e) {
                        assertTrue(e.getMessage().contains(file.getFileName().toString()), e.getMessage());
                    }
                });
            }
        }
    }

    /** Writes the bytes to dir/name; reading them fails within 10 s with an IOException naming the file and the reason. */
    void assertFails(String name, byte[] bytes, String reason) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, bytes);
        IOException e = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThrows(IOException.class, () -> AudioFiles.read(file)));
        assertTrue(e.getMessage().contains(name), e.getMessage());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }

    // ---------------------------------------------------------------- folder scans

    @Test
    void isAudioFileGoesByExtensionInAnyCase() {
        for (String yes : new String[] {"a.wav", "b.FLAC", "c.Mp3", "dir/d.WaV", "e.f.flac"}) assertTrue(AudioFiles.isAudioFile(Path.of(yes)), yes);
        for (String no : new String[] {"a.txt", "wav", "b.wav.bak", "c.ogg", "d.mp3x", "flac"}) assertFalse(AudioFiles.isAudioFile(Path.of(no)), no);
        assertFalse(AudioFiles.isAudioFile(Path.of("/")));
    }
}
