package io.higgs4j.trainer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.higgs4j.audio.Audio;
import io.higgs4j.audio.WavReader;
import io.higgs4j.audio.WavWriter;
import io.higgs4j.io.Npy;
import io.higgs4j.nn.Init;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.tokenizer.AudioTokenizerConfig;
import io.higgs4j.tokenizer.AudioTokenizerLoader;
import io.higgs4j.tokenizer.HiggsAudioTokenizer;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Torch;
import io.higgs4j.trainer.data.DemoData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** encode-audio, decode-audio and train --audio_tokenizer_path, with a tiny tokenizer of random weights. */
class AudioTokenizerCommandsTest {

    static Cli.Run run(String... args) {
        return Cli.run(args);
    }

    /** A tokenizer directory: the tiny geometry (config.json with higgs4j's width keys) and random weights. */
    static Path tinyTokenizer(Path dir) throws Exception {
        return tinyTokenizer(dir, 16);
    }

    /** The tiny geometry with bins codes per codebook (1024 to decode what the tiny Higgs preset generates). */
    static Path tinyTokenizer(Path dir, int bins) throws Exception {
        Files.createDirectories(dir);
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = json.createObjectNode().put("D", 8).put("codebook_dim", 4).put("sample_rate", 24000).put("bins", bins)
                .put("n_q", 8).put("semantic_techer", "hubert_base_general").put("encoder_dim", 2).put("decoder_dim", 32);
        c.putArray("ratios").add(8).add(5).add(4).add(2).add(3);
        ObjectNode h = c.putObject("semantic_model_config").put("hidden_size", 16).put("num_hidden_layers", 2)
                .put("num_attention_heads", 2).put("intermediate_size", 32).put("num_conv_pos_embeddings", 16)
                .put("num_conv_pos_embedding_groups", 4);
        var dims = h.putArray("conv_dim");
        for (int i = 0; i < 7; i++) dims.add(8);
        json.writeValue(dir.resolve("config.json").toFile(), c);
        Torch.manualSeed(5);
        try (HiggsAudioTokenizer t = new HiggsAudioTokenizer(AudioTokenizerConfig.load(dir), Init.cpu(DType.FLOAT32))) {
            if (bins == 16) assertEquals(AudioTokenizerConfig.tiny(), t.config);
            SafetensorsWriter.write(dir.resolve("model.safetensors"), t.namedParameters());
        }
        return dir;
    }

    static float[] tone(int n, int rate, double hz) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (0.4 * Math.sin(2 * Math.PI * hz * i / rate) + 0.1 * Math.sin(2 * Math.PI * 3.1 * hz * i / rate));
        return x;
    }

    @Test
    void encodeAudioWritesCodesBesideEachWavAndSkipsThemNextTime(@TempDir Path tmp) throws Exception {
        Path tok = tinyTokenizer(tmp.resolve("tok"));
        Path clips = Files.createDirectories(tmp.resolve("data").resolve("clips"));
        WavWriter.write(clips.resolve("a.wav"), tone(24000, 24000, 220), 24000);       // 1 s at 24 kHz: 25 frames
        WavWriter.write(clips.resolve("b.wav"), tone(8000, 16000, 330), 16000);        // 0.5 s at 16 kHz: 12.5 -> 13 frames
        Files.writeString(tmp.resolve("data").resolve("data.jsonl"),
                "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"hi\"}, {\"type\": \"audio\", \"audio_url\": \"clips/a.wav\"}]},"
                        + " {\"role\": \"assistant\", \"content\": {\"type\": \"audio\", \"audio_url\": \"clips/b.wav\"}}]}\n"
                        + "{\"messages\": [{\"role\": \"assistant\", \"content\": {\"type\": \"audio\", \"audio_url\": \"clips/a.wav\"}}]}\n");

        Cli.Run r = run("encode-audio", "--audio_tokenizer_path", tok.toString(), "--data_path", tmp.resolve("data/data.jsonl").toString(), "--device", "cpu");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("2 audio files: 2 encoded"), r.out());
        Npy.LongArray a = Npy.read(clips.resolve("a.codes.npy")), b = Npy.read(clips.resolve("b.codes.npy"));
        assertArrayEquals(new long[] {8, 25}, a.shape());
        assertArrayEquals(new long[] {8, 13}, b.shape());
        try (HiggsAudioTokenizer t = AudioTokenizerLoader.load(tok, Device.CPU)) {
            long[][] direct = t.encode(WavReader.read(clips.resolve("b.wav")));
            assertArrayEquals(direct, b.rows(), "the command's codes are the tokenizer's");
        }
        long modified = Files.getLastModifiedTime(clips.resolve("a.codes.npy")).toMillis();
        // the old spelling of encode-audio/decode-audio still works (hidden, deprecated)
        r = run("encode-audio", "--tokenizer_path", tok.toString(), "--data_path", tmp.resolve("data").toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("0 encoded") && r.out().contains("2 already encoded"), r.out());
        assertEquals(modified, Files.getLastModifiedTime(clips.resolve("a.codes.npy")).toMillis());

        // decode-audio: 25 frames -> 1 s at 24 kHz
        Path wav = tmp.resolve("a_decoded.wav");
        r = run("decode-audio", "--audio_tokenizer_path", tok.toString(), "--codes", clips.resolve("a.codes.npy").toString(), "--output", wav.toString());
        assertEquals(0, r.rc(), r.err());
        Audio decoded = WavReader.read(wav);
        assertEquals(24000, decoded.sampleRate());
        assertEquals(25 * 960, decoded.samples().length);
    }

    @Test
    void aBrokenWavIsNamedAndLeavesNoCodesFile(@TempDir Path tmp) throws Exception {
        Path tok = tinyTokenizer(tmp.resolve("tok"));
        Path wavs = Files.createDirectories(tmp.resolve("wavs"));
        WavWriter.write(wavs.resolve("good.wav"), tone(12000, 24000, 200), 24000);
        Files.writeString(wavs.resolve("bad.wav"), "not a wav");
        WavWriter.write(wavs.resolve("short.wav"), tone(100, 24000, 200), 24000);
        Cli.Run r = run("encode-audio", "--audio_tokenizer_path", tok.toString(), "--data_path", wavs.toString());
        assertEquals(1, r.rc(), r.out() + r.err());
        assertTrue(r.out().contains("1 encoded") && r.out().contains("2 failed"), r.out());
        assertTrue(r.out().contains("bad.wav") && r.out().contains("short.wav") && r.out().contains("shorter than one code frame"), r.out());
        try (var s = Files.list(wavs)) {
            assertEquals(List.of("bad.wav", "good.codes.npy", "good.wav", "short.wav"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void twoAudioFilesThatWouldShareACodesFileAreRefusedBeforeAnyIsEncoded(@TempDir Path tmp) throws Exception {
        Path tok = tinyTokenizer(tmp.resolve("tok"));
        Path dir = Files.createDirectories(tmp.resolve("clips"));
        WavWriter.write(dir.resolve("x.wav"), tone(24000, 24000, 220), 24000);
        WavWriter.write(dir.resolve("x.mp3"), tone(72000, 24000, 440), 24000);  // WAV content: the reader goes by content
        WavWriter.write(dir.resolve("y.wav"), tone(24000, 24000, 330), 24000);
        Cli.Run r = run("encode-audio", "--audio_tokenizer_path", tok.toString(), "--data_path", dir.toString());
        assertEquals(1, r.rc(), r.out());
        assertTrue(r.err().contains(dir.resolve("x.mp3") + " and " + dir.resolve("x.wav") + " -> " + dir.resolve("x.codes.npy")), r.err());
        try (var s = Files.list(dir)) {
            assertEquals(List.of("x.mp3", "x.wav", "y.wav"), s.map(p -> p.getFileName().toString()).sorted().toList(), "nothing encoded");
        }
        // ChatML data naming both, without their own audio_codes, is refused the same way
        Files.writeString(tmp.resolve("data.jsonl"), "{\"messages\": [{\"role\": \"assistant\", \"content\": {\"type\": \"audio\", \"audio_url\": \"clips/x.wav\"}}]}\n"
                + "{\"messages\": [{\"role\": \"assistant\", \"content\": {\"type\": \"audio\", \"audio_url\": \"clips/x.mp3\"}}]}\n");
        r = run("encode-audio", "--audio_tokenizer_path", tok.toString(), "--data_path", tmp.resolve("data.jsonl").toString());
        assertEquals(1, r.rc(), r.out());
        assertTrue(r.err().contains(dir.resolve("x.wav").toAbsolutePath() + " and " + dir.resolve("x.mp3").toAbsolutePath()), r.err());
        assertFalse(Files.exists(dir.resolve("x.codes.npy")));
    }

    @Test
    void aDirectoryIsSearchedForEveryAudioKindItsHelpNames(@TempDir Path tmp) throws Exception {
        String help = run("encode-audio", "--help").out().replaceAll("\\s+", " ");
        assertTrue(help.contains("wav, flac and mp3 (by extension, in any letter case)") && help.contains("sub-folders"), help);
        Path tok = tinyTokenizer(tmp.resolve("tok"));
        Path fixtures = Path.of("../core/src/test/resources/audio").toAbsolutePath().normalize();
        Path dir = Files.createDirectories(tmp.resolve("clips").resolve("sub"));
        Files.copy(fixtures.resolve("tone_16k_mono.wav"), tmp.resolve("clips").resolve("A.WAV"));
        Files.copy(fixtures.resolve("tone_16k_mono.flac"), dir.resolve("b.Flac"));
        Files.copy(fixtures.resolve("tone_44k_stereo.mp3"), dir.resolve("c.mp3"));
        Cli.Run r = run("encode-audio", "--audio_tokenizer_path", tok.toString(), "--data_path", tmp.resolve("clips").toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("3 audio files: 3 encoded"), r.out());
        for (Path codes : List.of(tmp.resolve("clips/A.codes.npy"), dir.resolve("b.codes.npy"), dir.resolve("c.codes.npy"))) {
            assertEquals(8, Npy.readHeader(codes).shape()[0], codes.toString());
        }
    }

    @Test
    void theAudioTokenizerIsRequiredAndOnlyItsNewSpellingIsShown(@TempDir Path tmp) throws Exception {
        for (String command : List.of("encode-audio", "decode-audio")) {
            Cli.Run r = command.equals("encode-audio") ? run(command, "--data_path", tmp.toString())
                    : run(command, "--codes", tmp.resolve("c.npy").toString(), "--output", tmp.resolve("o.wav").toString());
            assertEquals(2, r.rc(), command + ": " + r.err());
            assertTrue(r.err().contains("Missing required option: '--audio_tokenizer_path=DIR|ID'"), r.err());
            String help = run(command, "--help").out();
            assertTrue(help.contains("--audio_tokenizer_path") && !help.contains("--tokenizer_path"), help);
        }
    }

    @Test
    void missingTokenizerOrCodesAreClearErrors(@TempDir Path tmp) throws Exception {
        Cli.Run r = run("encode-audio", "--audio_tokenizer_path", tmp.resolve("nope").toString(), "--data_path", tmp.toString());
        assertEquals(0, r.rc(), "nothing to encode in an empty directory: " + r.err());
        Files.writeString(tmp.resolve("x.wav"), "x");
        r = run("encode-audio", "--audio_tokenizer_path", tmp.resolve("nope").toString(), "--data_path", tmp.toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("audio tokenizer directory") && r.err().contains("nope"), r.err());
        Path tok = Files.createDirectories(tmp.resolve("tok"));
        Files.writeString(tok.resolve("config.json"), "{\"D\": 256, \"bins\": 1024, \"n_q\": 8, \"ratios\": [8, 5, 4, 2, 3], \"sample_rate\": 24000}");
        r = run("decode-audio", "--audio_tokenizer_path", tok.toString(), "--codes", tmp.resolve("c.npy").toString(), "--output", tmp.resolve("o.wav").toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("c.npy does not exist"), r.err());
    }

    /** Training data whose target clips are WAVs without codes: the trainer encodes them first, then trains. */
    @Test
    void trainEncodesMissingCodesWithTheTokenizer(@TempDir Path tmp) throws Exception {
        Path tok = tinyTokenizer(tmp.resolve("tok"));
        Path data = DemoData.write(tmp.resolve("data"), 4, 2, 8, 1024, 1);
        List<Path> targets;
        try (var s = Files.list(tmp.resolve("data/codes"))) {
            targets = s.filter(p -> p.toString().endsWith("_target.codes.npy")).sorted().toList();
        }
        assertEquals(4, targets.size());
        for (Path codes : targets) {
            Files.delete(codes);
            String wav = codes.getFileName().toString().replace(".codes.npy", ".wav");
            WavWriter.write(codes.resolveSibling(wav), tone(19200, 24000, 180), 24000); // 0.8 s: 20 frames
        }
        Path out = tmp.resolve("out");
        Cli.Run r = run("train", "--config", "tiny", "--data_path", data.toString(), "--output_dir", out.toString(),
                "--max_steps", "2", "--save_steps", "0", "--audio_tokenizer_path", tok.toString());
        assertEquals(0, r.rc(), r.err() + r.out());
        for (Path codes : targets) assertArrayEquals(new long[] {8, 20}, Npy.read(codes).shape(), codes.toString());
        assertEquals(2, TrainCommandTest.metrics(out).size());
    }
}
