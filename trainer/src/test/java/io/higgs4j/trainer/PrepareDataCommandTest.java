package io.higgs4j.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.audio.WavWriter;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.io.Npy;
import io.higgs4j.trainer.data.TextTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** prepare-data on the three input layouts, with a tiny audio tokenizer of random weights. */
class PrepareDataCommandTest {

    static Path wav(Path file, double seconds, double hz) throws Exception {
        Files.createDirectories(file.getParent());
        WavWriter.write(file, AudioTokenizerCommandsTest.tone((int) (seconds * 16000), 16000, hz), 16000);
        return file;
    }

    static List<JsonNode> lines(Path file) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(file)) out.add(new ObjectMapper().readTree(l));
        return out;
    }

    /** A model directory the validator reads: the tiny preset's config and the demo tokenizer. */
    static Path tinyModel(Path dir) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), HiggsAudioConfig.preset("tiny").toJson().toPrettyString());
        try (InputStream in = TextTokenizer.class.getResourceAsStream(TextTokenizer.DEMO_RESOURCE)) {
            Files.copy(in, dir.resolve("tokenizer.json"));
        }
        return dir;
    }

    @Test
    void aFolderOfSpeakersBecomesVoiceCloningSamplesSplitBySpeaker(@TempDir Path tmp) throws Exception {
        Path tok = AudioTokenizerCommandsTest.tinyTokenizer(tmp.resolve("tok"));
        Path in = tmp.resolve("clips");
        for (String spk : List.of("anna", "ben", "cleo", "dan")) {
            for (int i = 1; i <= 3; i++) {
                wav(in.resolve(spk).resolve(spk + i + ".wav"), 0.4 + 0.1 * i, 150 + 40 * i);
                Files.writeString(in.resolve(spk).resolve(spk + i + (i == 2 ? ".lab" : ".txt")), "hello world " + i);
            }
        }
        wav(in.resolve("anna").resolve("no_text.wav"), 0.5, 200);                 // no transcript
        wav(in.resolve("eve").resolve("alone.wav"), 0.5, 200);                    // the speaker's only clip
        Files.writeString(in.resolve("eve").resolve("alone.txt"), "only me");
        wav(in.resolve("ben").resolve("short.wav"), 0.1, 200);                    // below --min_seconds
        Files.writeString(in.resolve("ben").resolve("short.txt"), "short");
        Files.writeString(in.resolve("cleo").resolve("broken.wav"), "not audio"); // unreadable
        Files.writeString(in.resolve("cleo").resolve("broken.txt"), "broken");
        Path out = tmp.resolve("out");
        Cli.Run r = Cli.run("prepare-data", "--input", in.toString(), "--output_dir", out.toString(),
                "--audio_tokenizer_path", tok.toString(), "--eval_ratio", "0.25", "--min_seconds", "0.3", "--prompt_layout", "official",
                "--model_path", tinyModel(tmp.resolve("model")).toString());
        assertEquals(0, r.rc(), r.err());
        List<JsonNode> train = lines(out.resolve("train.jsonl")), eval = lines(out.resolve("eval.jsonl"));
        assertEquals(12, train.size() + eval.size(), "4 speakers x 3 clips");
        assertEquals(3, eval.size(), "0.25 of 12 held out: one whole speaker");
        Set<String> trainSpeakers = new HashSet<>(), evalSpeakers = new HashSet<>();
        train.forEach(n -> trainSpeakers.add(n.get("speaker").asText()));
        eval.forEach(n -> evalSpeakers.add(n.get("speaker").asText()));
        assertTrue(java.util.Collections.disjoint(trainSpeakers, evalSpeakers), trainSpeakers + " / " + evalSpeakers);
        for (JsonNode n : train) {
            JsonNode m = n.get("messages");
            assertEquals(4, m.size(), "official layout: user, assistant (reference), user, assistant (target)");
            assertEquals(3, n.get("start_index").asInt());
            String ref = m.get(1).get("content").get(0).get("audio_codes").asText(), target = m.get(3).get("content").get(0).get("audio_codes").asText();
            assertNotEquals(ref, target, "the reference is another clip");
            String speaker = n.get("speaker").asText();
            assertTrue(ref.startsWith("codes/" + speaker + "/") && target.startsWith("codes/" + speaker + "/"), ref + " " + target);
            long[][] codes = Npy.read(out.resolve(target)).rows();
            assertEquals(8, codes.length);
            assertTrue(Files.isRegularFile(out.resolve(m.get(3).get("content").get(0).get("audio_url").asText())), "audio_url resolves from OUT");
        }
        JsonNode report = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        assertEquals(12, report.get("clips_used").asInt());
        assertEquals(1, report.get("skipped").get("no_transcript").asInt());
        assertEquals(1, report.get("skipped").get("only_clip_of_speaker").asInt());
        assertEquals(1, report.get("skipped").get("too_short").asInt());
        assertEquals(1, report.get("skipped").get("unreadable_audio").asInt());
        assertTrue(report.get("skipped_clips").toString().contains("broken.wav"));
        assertEquals(9, report.get("validation").get("valid").asInt(), "the validator reads the train part whole");
        assertTrue(report.get("hours").get("target").asDouble() > 0 && report.get("hours").get("reference").asDouble() > 0);
        assertTrue(r.out().contains("hours of audio per hour"), r.out());

        // A second run encodes nothing and writes the same samples.
        byte[] before = Files.readAllBytes(out.resolve("train.jsonl"));
        r = Cli.run("prepare-data", "--input", in.toString(), "--output_dir", out.toString(),
                "--audio_tokenizer_path", tok.toString(), "--eval_ratio", "0.25", "--min_seconds", "0.3", "--prompt_layout", "official");
        assertEquals(0, r.rc(), r.err());
        assertEquals(0, new ObjectMapper().readTree(out.resolve("report.json").toFile()).get("encoded_clips").asInt());
        assertArrayEquals(before, Files.readAllBytes(out.resolve("train.jsonl")));
        try (Stream<Path> s = Files.walk(out)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().contains(".tmp")).toList(), "no temporary file left");
        }
        // The samples train: validate-data in the same layout reads every one.
        r = Cli.run("train", "--config", "tiny", "--data_path", out.resolve("train.jsonl").toString(), "--eval_data_path",
                out.resolve("eval.jsonl").toString(), "--output_dir", tmp.resolve("run").toString(), "--max_steps", "2",
                "--sample_prompts", "none");
        assertEquals(0, r.rc(), r.err());
    }

    @Test
    void ljspeechMetadataAndJsonlLines(@TempDir Path tmp) throws Exception {
        Path tok = AudioTokenizerCommandsTest.tinyTokenizer(tmp.resolve("tok"));
        Path lj = tmp.resolve("LJSpeech");
        for (int i = 1; i <= 3; i++) wav(lj.resolve("wavs").resolve("LJ00" + i + ".wav"), 0.5, 120 * i);
        Files.writeString(lj.resolve("metadata.csv"), "LJ001|Printing, in the only sense|printing in the only sense\n"
                + "LJ002|Second one|\nLJ003|Third one|third one\nLJ009|No audio|no audio\nbroken line\n");
        Path out = tmp.resolve("out");
        Cli.Run r = Cli.run("prepare-data", "--input", lj.toString(), "--output_dir", out.toString(),
                "--audio_tokenizer_path", tok.toString());
        assertEquals(0, r.rc(), r.err());
        List<JsonNode> train = lines(out.resolve("train.jsonl"));
        assertEquals(3, train.size());
        assertFalse(Files.exists(out.resolve("eval.jsonl")));
        JsonNode first = train.getFirst();
        assertEquals(3, first.get("messages").size(), "train layout: system, user (reference + request), assistant");
        assertTrue(first.get("messages").get(1).get("content").get(2).get("text").asText().endsWith("printing in the only sense"),
                "the normalized text is used");
        JsonNode report = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        assertEquals(1, report.get("skipped").get("missing_audio").asInt());
        assertEquals(1, report.get("skipped").get("bad_line").asInt());

        Path jl = tmp.resolve("list.jsonl");
        wav(tmp.resolve("a").resolve("x1.wav"), 0.5, 300);
        wav(tmp.resolve("a").resolve("x2.wav"), 0.6, 310);
        Files.writeString(jl, "{\"audio\": \"a/x1.wav\", \"text\": \"one\", \"speaker\": \"zed\"}\n"
                + "{\"audio\": \"a/x2.wav\", \"text\": \"two\", \"speaker\": \"zed\"}\n{\"audio\": 3}\n");
        r = Cli.run("prepare-data", "--input", jl.toString(), "--output_dir", tmp.resolve("out2").toString(),
                "--audio_tokenizer_path", tok.toString());
        assertEquals(0, r.rc(), r.err());
        assertEquals(2, lines(tmp.resolve("out2").resolve("train.jsonl")).size());
        assertTrue(r.out().contains("skipped: {bad_line=1}"), r.out());
    }

    @Test
    void flacAndMp3AreReadToo(@TempDir Path tmp) throws Exception {
        Path tok = AudioTokenizerCommandsTest.tinyTokenizer(tmp.resolve("tok"));
        Path fixtures = Path.of("../core/src/test/resources/audio").toAbsolutePath().normalize();
        Path in = Files.createDirectories(tmp.resolve("in").resolve("mix"));
        Files.copy(fixtures.resolve("tone_16k_mono.flac"), in.resolve("a.flac"));
        Files.copy(fixtures.resolve("tone_44k_stereo.mp3"), in.resolve("b.mp3"));
        Files.copy(fixtures.resolve("tone_16k_mono.wav"), in.resolve("c.wav"));
        for (String n : List.of("a", "b", "c")) Files.writeString(in.resolve(n + ".txt"), "clip " + n);
        Cli.Run r = Cli.run("prepare-data", "--input", tmp.resolve("in").toString(), "--output_dir",
                tmp.resolve("out").toString(), "--audio_tokenizer_path", tok.toString());
        assertEquals(0, r.rc(), r.err());
        assertEquals(3, lines(tmp.resolve("out").resolve("train.jsonl")).size());
        // The FLAC is the WAV losslessly: the same codes.
        assertArrayEquals(Npy.read(tmp.resolve("out/codes/mix/c.codes.npy")).rows(), Npy.read(tmp.resolve("out/codes/mix/a.codes.npy")).rows());
    }

    @Test
    void badInputIsNamed(@TempDir Path tmp) throws Exception {
        Path tok = AudioTokenizerCommandsTest.tinyTokenizer(tmp.resolve("tok"));
        Cli.Run r = Cli.run("prepare-data", "--input", tmp.resolve("nope").toString(), "--output_dir",
                tmp.resolve("o").toString(), "--audio_tokenizer_path", tok.toString());
        assertTrue(r.err().contains("nope does not exist"), r.err());
        r = Cli.run("prepare-data", "--input", tmp.toString(), "--output_dir", tmp.resolve("o").toString(),
                "--audio_tokenizer_path", tmp.resolve("x").toString());
        assertTrue(r.err().contains("has no config.json"), r.err());
        Files.createDirectories(tmp.resolve("empty"));
        r = Cli.run("prepare-data", "--input", tmp.resolve("empty").toString(), "--output_dir", tmp.resolve("o").toString(),
                "--audio_tokenizer_path", tok.toString());
        assertTrue(r.err().contains("holds no .wav, .flac or .mp3"), r.err());
        r = Cli.run("prepare-data", "--input", tmp.toString(), "--output_dir", tmp.resolve("o").toString(),
                "--audio_tokenizer_path", tok.toString(), "--min_seconds", "5", "--max_seconds", "1");
        assertTrue(r.err().contains("do not make a range"), r.err());
    }
}
