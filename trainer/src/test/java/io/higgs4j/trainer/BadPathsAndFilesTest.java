package io.higgs4j.trainer;

import io.higgs4j.audio.WavWriter;
import io.higgs4j.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Outputs that point at the wrong kind of path and inputs that are not what they claim: a clear message, nothing left behind. */
class BadPathsAndFilesTest {

    static List<String> names(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void decodeAudioToADirectoryIsRefusedAndLeavesNoTemporaryFile(@TempDir Path dir) throws Exception {
        Path codes = dir.resolve("c.npy"), out = Files.createDirectories(dir.resolve("o"));
        Npy.write(codes, new long[][] {{1, 2, 3}}, "<i8");
        Cli.Run r = Cli.run("decode-audio", "--audio_tokenizer_path", dir.resolve("tok").toString(), "--codes", codes.toString(),
                "--output", out.toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("--output " + out + " is a directory"), r.err());
        assertEquals(List.of("c.npy", "o"), names(dir));
        assertEquals(List.of(), names(out));
    }

    @Test
    void outputDirThatIsAFileIsNamedAsSuch(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("taken"), "x");
        Cli.Run r = Cli.run("merge", "--model_path", dir.toString(), "--adapter", dir.toString(), "--output_dir", file.toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("--output_dir " + file + " is a file, not a directory"), r.err());
        r = Cli.run("train", "--demo", "--max_steps", "1", "--output_dir", file.toString());
        assertNotEquals(0, r.rc());
        assertTrue(r.err().contains("--output_dir " + file + " is a file, not a directory"), r.err());
        assertEquals(List.of("taken"), names(dir));
        assertEquals("x", Files.readString(file));
    }

    @Test
    void aFileOnTheOutputsPathAndADirectoryForCodesAreNamedAsSuch(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("afile"), "x"), codes = Files.createDirectories(dir.resolve("codes.npy"));
        Npy.write(dir.resolve("c.npy"), new long[][] {{1, 2, 3}}, "<i8");
        // the decoder writes into a folder under a file: the JDK says only "<file>" (it was "already exists")
        assertEquals(file + ": already exists as a file", Main.describe(new java.nio.file.FileAlreadyExistsException(file.toString())));
        assertEquals(dir + ": already exists", Main.describe(new java.nio.file.FileAlreadyExistsException(dir.toString())));
        Cli.Run r = Cli.run("decode-audio", "--audio_tokenizer_path", dir.resolve("tok").toString(), "--codes", codes.toString(),
                "--output", dir.resolve("x.wav").toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("--codes " + codes + " is a directory, not a .npy file"), r.err());
        assertEquals("x", Files.readString(file));
    }

    @Test
    void fileSystemErrorsSayWhatIsWrongWithThePath() {
        assertEquals("/a/b: does not exist (or a folder on its path does not)", Main.describe(new NoSuchFileException("/a/b")));
        assertEquals("/a/b: is not a directory", Main.describe(new NotDirectoryException("/a/b")));
        assertEquals("/a/b: permission denied", Main.describe(new AccessDeniedException("/a/b")));
        assertEquals("/a/b: Not a directory", Main.describe(new FileSystemException("/a/b", null, "Not a directory")));
        assertEquals("plain", Main.describe(new IllegalArgumentException("plain")));
        // libtorch not found while a class initialises: the reason, not the Error around it (that was a stack trace)
        var first = new ExceptionInInitializerError(new IllegalStateException("LIBTORCH=/x holds no libc10.so"));
        assertEquals("LIBTORCH=/x holds no libc10.so", Main.initializerFailure(first));
        var later = new NoClassDefFoundError("Could not initialize class io.higgs4j.torch.Native");
        later.initCause(first);
        assertEquals("LIBTORCH=/x holds no libc10.so", Main.initializerFailure(later));
    }

    /** A 16-bit mono WAV whose header declares rate Hz. */
    static byte[] wav(int rate, int samples) {
        ByteBuffer b = ByteBuffer.allocate(44 + 2 * samples).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt(36 + 2 * samples).put("WAVE".getBytes());
        b.put("fmt ".getBytes()).putInt(16).putShort((short) 1).putShort((short) 1).putInt(rate).putInt(rate * 2)
                .putShort((short) 2).putShort((short) 16);
        b.put("data".getBytes()).putInt(2 * samples);
        for (int i = 0; i < samples; i++) b.putShort((short) (1000 * Math.sin(i / 3.0)));
        return b.array();
    }

    /** The 9.6 KB WAV that claims 1 Hz: refused at once, naming the file and its rate, no codes file written. */
    @Test
    @Timeout(120)
    void aWavClaimingOneHertzIsRefused(@TempDir Path dir) throws Exception {
        Path wavs = Files.createDirectories(dir.resolve("wavs"));
        Path bad = Files.write(wavs.resolve("one-hz.wav"), wav(1, 4800));
        Path tok = AudioTokenizerCommandsTest.tinyTokenizer(dir.resolve("tok"));
        Cli.Run r = Cli.run("encode-audio", "--audio_tokenizer_path", tok.toString(), "--data_path", wavs.toString());
        assertEquals(1, r.rc(), r.out() + r.err());
        assertTrue(r.out().contains(bad.toString()) && r.out().contains("sample rate of 1 Hz"), r.out() + r.err());
        assertEquals(List.of("one-hz.wav"), names(wavs));
        // the same file at a real rate is read
        WavWriter.write(wavs.resolve("fine.wav"), new float[4800], 24000);
        assertEquals(4800, io.higgs4j.audio.AudioFiles.read(wavs.resolve("fine.wav")).samples().length);
    }

    @Test
    void aBinaryDataFileIsNamedAsNotText(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("data.jsonl");
        Files.write(data, new byte[] {'{', '}', '\n', (byte) 0xC3, (byte) 0x28, 0, (byte) 0xFF, '\n'});
        Cli.Run r = Cli.run("validate-data", "--data_path", data.toString(), "--config", "tiny");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("data file " + data + " is not UTF-8 text: invalid bytes on line 2"), r.err());
        Files.write(data, new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 1, 2});
        r = Cli.run("validate-data", "--data_path", data.toString(), "--config", "tiny");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("data file " + data + " is not UTF-8 text: invalid bytes on line 1"), r.err());
    }
}
