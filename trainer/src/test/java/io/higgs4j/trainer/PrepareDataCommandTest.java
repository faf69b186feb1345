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
        assertArrayEquals(Npy.read(codesOf(tmp.resolve("out/codes/mix"), "c")).rows(), Npy.read(codesOf(tmp.resolve("out/codes/mix"), "a")).rows());
    }

    /** The one codes file of a clip stem in a speaker's codes folder: STEM-XXXXXXXX.codes.npy. */
    static Path codesOf(Path speakerCodes, String stem) throws Exception {
        try (Stream<Path> s = Files.list(speakerCodes)) {
            List<Path> found = s.filter(p -> p.getFileName().toString().matches(java.util.regex.Pattern.quote(stem) + "-[0-9a-f]{8}\\.codes\\.npy")).toList();
            assertEquals(1, found.size(), stem + " in " + speakerCodes + ": " + found);
            return found.getFirst();
        }
    }

    /** Each sample's target audio file -> the frame count of its codes file. */
    static java.util.Map<String, Long> targetFrames(Path out) throws Exception {
        java.util.Map<String, Long> m = new java.util.TreeMap<>();
        for (JsonNode n : lines(out.resolve("train.jsonl"))) {
            JsonNode audio = n.get("messages").get(2).get("content").get(0);  // train layout: system, user, assistant
            m.put(Path.of(audio.get("audio_url").asText()).getFileName().toString(), Npy.readHeader(out.resolve(audio.get("audio_codes").asText())).shape()[1]);
        }
        return m;
    }

    @Test
    void clipsWhoseNamesLookAlikeKeepTheirOwnCodesAcrossRuns(@TempDir Path tmp) throws Exception {
        Path tok = AudioTokenizerCommandsTest.tinyTokenizer(tmp.resolve("tok"));
        Path spk = tmp.resolve("in").resolve("spk");
        // frames = seconds x 25 (whole frames of 960 samples at 24 kHz): 0.4 s -> 10, 0.8 s -> 20, ...
        wav(spk.resolve("a_b.wav"), 0.8, 200);
        wav(spk.resolve("مرحبا.wav"), 0.4, 300);
        wav(spk.resolve("سلامو.wav"), 1.2, 400);
        for (String n : List.of("a_b", "مرحبا", "سلامو")) Files.writeString(spk.resolve(n + ".txt"), "clip " + n);
        Path out = tmp.resolve("out");
        String[] args = {"prepare-data", "--input", tmp.resolve("in").toString(), "--output_dir", out.toString(), "--audio_tokenizer_path", tok.toString()};
        Cli.Run r = Cli.run(args);
        assertEquals(0, r.rc(), r.err());
        assertEquals(java.util.Map.of("a_b.wav", 20L, "مرحبا.wav", 10L, "سلامو.wav", 30L), targetFrames(out));
        codesOf(out.resolve("codes/spk"), "مرحبا");  // the Arabic name stays readable

        // A new clip whose old-style name (a_b) was taken: encoded, with its own codes; the others are reused.
        wav(spk.resolve("a b.wav"), 1.6, 500);
        Files.writeString(spk.resolve("a b.txt"), "clip a b");
        r = Cli.run(args);
        assertEquals(0, r.rc(), r.err());
        assertEquals(1, new ObjectMapper().readTree(out.resolve("report.json").toFile()).get("encoded_clips").asInt());
        assertEquals(java.util.Map.of("a b.wav", 40L, "a_b.wav", 20L, "مرحبا.wav", 10L, "سلامو.wav", 30L), targetFrames(out));

        // A clip rewritten in place is encoded again: its old codes are not taken for the new audio.
        wav(spk.resolve("a_b.wav"), 2.0, 600);
        Files.setLastModifiedTime(spk.resolve("a_b.wav"), java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5000));
        r = Cli.run(args);
        assertEquals(0, r.rc(), r.err());
        assertEquals(1, new ObjectMapper().readTree(out.resolve("report.json").toFile()).get("encoded_clips").asInt());
        assertEquals(50L, targetFrames(out).get("a_b.wav"));
    }

    @Test
    void aBadModelPathFailsBeforeAnythingIsEncodedOrWritten(@TempDir Path tmp) throws Exception {
        Path tok = AudioTokenizerCommandsTest.tinyTokenizer(tmp.resolve("tok"));
        Path in = tmp.resolve("in").resolve("spk");
        for (String n : List.of("one", "two")) {
            wav(in.resolve(n + ".wav"), 0.4, 200);
            Files.writeString(in.resolve(n + ".txt"), n);
        }
        Path bad = Files.createDirectories(tmp.resolve("bad"));
        Files.writeString(bad.resolve("config.json"), "{\"text_config\": ");
        Path out = tmp.resolve("out");
        Cli.Run r = Cli.run("prepare-data", "--input", tmp.resolve("in").toString(), "--output_dir", out.toString(),
                "--audio_tokenizer_path", tok.toString(), "--model_path", bad.toString());
        assertEquals(1, r.rc(), r.out());
        assertTrue(r.err().contains("--model_path " + bad) && r.err().contains("config.json"), r.err());
        assertFalse(Files.exists(out), "nothing encoded or written");

        // A config without its tokenizer is refused as early.
        Path noTokenizer = tinyModel(tmp.resolve("model"));
        Files.delete(noTokenizer.resolve("tokenizer.json"));
        r = Cli.run("prepare-data", "--input", tmp.resolve("in").toString(), "--output_dir", out.toString(),
                "--audio_tokenizer_path", tok.toString(), "--model_path", noTokenizer.toString());
        assertEquals(1, r.rc(), r.out());
        assertTrue(r.err().contains("--model_path " + noTokenizer) && r.err().contains("tokenizer.json"), r.err());
        assertFalse(Files.exists(out), "nothing encoded or written");
    }

    @Test
    void aCodesFileThatCannotBeWrittenStopsTheRunInsteadOfSkippingTheClip(@TempDir Path tmp) throws Exception {
        Path tok = AudioTokenizerCommandsTest.tinyTokenizer(tmp.resolve("tok"));
        Path in = tmp.resolve("in").resolve("spk");
        for (String n : List.of("one", "two")) {
            wav(in.resolve(n + ".wav"), 0.4, 200);
            Files.writeString(in.resolve(n + ".txt"), n);
        }
        Path out = tmp.resolve("out");
        Files.createDirectories(out.resolve("codes"));
        Files.writeString(out.resolve("codes").resolve("spk"), "a file where the speaker's codes folder goes");
        Cli.Run r = Cli.run("prepare-data", "--input", tmp.resolve("in").toString(), "--output_dir", out.toString(),
                "--audio_tokenizer_path", tok.toString());
        assertEquals(1, r.rc(), r.out());
        assertTrue(r.err().contains(out.resolve("codes").resolve("spk").toAbsolutePath().toString()) && !r.err().contains("no usable clip"), r.err());
        assertFalse(Files.exists(out.resolve("train.jsonl")) || Files.exists(out.resolve("report.json")));
    }

    @Test
    void ambiguousInputIsRefusedWithEveryCaseNamed(@TempDir Path tmp) throws Exception {
        Path tok = AudioTokenizerCommandsTest.tinyTokenizer(tmp.resolve("tok"));
        Path out = tmp.resolve("out");
        // LJSpeech: an id twice would be two clips of one recording, one sample taking it as its own reference
        Path lj = tmp.resolve("LJ");
        for (int i = 0; i < 3; i++) wav(lj.resolve("wavs").resolve("LJ" + i + ".wav"), 0.4, 200 + 50 * i);
        Files.writeString(lj.resolve("metadata.csv"), "LJ0|zero|zero\nLJ1|one|one\nLJ2|two|two\nLJ0|zero again|zero again\n");
        Cli.Run r = Cli.run("prepare-data", "--input", lj.toString(), "--output_dir", out.toString(), "--audio_tokenizer_path", tok.toString());
        assertEquals(1, r.rc(), r.out());
        assertTrue(r.err().contains(lj.resolve("metadata.csv") + ": id LJ0 is on line 1 and again on line 4"), r.err());
        assertFalse(Files.exists(out));

        // JSONL: two lines naming one audio file
        Files.writeString(lj.resolve("list.jsonl"), "{\"audio\": \"wavs/LJ0.wav\", \"text\": \"a\"}\n{\"audio\": \"wavs/LJ1.wav\", \"text\": \"b\"}\n"
                + "{\"audio\": \"wavs/../wavs/LJ0.wav\", \"text\": \"c\"}\n");
        r = Cli.run("prepare-data", "--input", lj.resolve("list.jsonl").toString(), "--output_dir", out.toString(), "--audio_tokenizer_path", tok.toString());
        assertEquals(1, r.rc(), r.out());
        assertTrue(r.err().contains("lines 1 and 3 both name the audio " + lj.resolve("wavs/LJ0.wav").toAbsolutePath()), r.err());
        assertFalse(Files.exists(out));

        // A folder: .txt and .lab that differ, and x.wav + x.mp3 sharing x.txt; all named in one message
        Path spk = tmp.resolve("in").resolve("spk");
        for (String n : List.of("a", "b", "c")) wav(spk.resolve(n + ".wav"), 0.4, 300);
        Files.writeString(spk.resolve("a.txt"), "the right text");
        Files.writeString(spk.resolve("a.lab"), "another text");
        Files.writeString(spk.resolve("b.txt"), "same text\n");
        Files.writeString(spk.resolve("b.lab"), "same text");  // agreeing transcripts are fine
        Files.writeString(spk.resolve("c.txt"), "c");
        Files.copy(spk.resolve("c.wav"), spk.resolve("c.mp3"));
        r = Cli.run("prepare-data", "--input", tmp.resolve("in").toString(), "--output_dir", out.toString(), "--audio_tokenizer_path", tok.toString());
        assertEquals(1, r.rc(), r.out());
        assertTrue(r.err().contains("ambiguous in 2 places"), r.err());
        assertTrue(r.err().contains(spk.resolve("a.txt") + " and a.lab are both transcripts of a.wav and differ"), r.err());
        assertTrue(r.err().contains(spk.resolve("c.mp3") + " and c.wav share one transcript"), r.err());
        assertFalse(r.err().contains("b.wav"), r.err());
        assertFalse(Files.exists(out));

        Files.delete(spk.resolve("a.lab"));
        Files.delete(spk.resolve("c.mp3"));
        r = Cli.run("prepare-data", "--input", tmp.resolve("in").toString(), "--output_dir", out.toString(), "--audio_tokenizer_path", tok.toString());
        assertEquals(0, r.rc(), r.err());
        assertEquals(3, lines(out.resolve("train.jsonl")).size());
    }

    @Test
    void optionsAreCheckedAndTheirMessagesNameWhatExists(@TempDir Path tmp) throws Exception {
        Path tok = AudioTokenizerCommandsTest.tinyTokenizer(tmp.resolve("tok"));
        Path spk = tmp.resolve("in").resolve("spk");
        for (String n : List.of("a", "b", "c")) {
            wav(spk.resolve(n + ".wav"), 0.4, 300);
            Files.writeString(spk.resolve(n + ".txt"), n);
        }
        Path out = tmp.resolve("out");
        List<String> base = List.of("prepare-data", "--input", tmp.resolve("in").toString(), "--output_dir", out.toString(), "--audio_tokenizer_path", tok.toString());
        String[][] cases = {
                {"--min_seconds", "-1", "--min_seconds must be a finite number >= 0"},
                {"--max_seconds", "NaN", "--max_seconds must be a finite number >= 0"},
                {"--max_seconds", "Infinity", "--max_seconds must be a finite number >= 0"},
                {"--min_seconds", "NaN", "--min_seconds must be a finite number >= 0"},
        };
        for (String[] c : cases) {
            List<String> args = new ArrayList<>(base);
            args.add(c[0]);
            args.add(c[1]);
            Cli.Run r = Cli.run(args.toArray(String[]::new));
            assertEquals(2, r.rc(), String.join(" ", c));
            assertTrue(r.err().contains(c[2]), r.err());
        }
        List<String> args = new ArrayList<>(base);
        args.addAll(List.of("--eval_ratio", "0.5"));
        Cli.Run r = Cli.run(args.toArray(String[]::new));
        assertEquals(1, r.rc(), r.out());
        assertTrue(r.err().contains("--eval_ratio holds out whole speakers") && r.err().contains("'spk'"), r.err());
        // every option the message names is prepare-data's, or is said to be train's
        Set<String> options = new HashSet<>();
        Main.commandLine().getSubcommands().get("prepare-data").getCommandSpec().options().forEach(o -> options.addAll(List.of(o.names())));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\S+ )?(--[a-z_]+)").matcher(r.err());
        while (m.find()) assertTrue(options.contains(m.group(2)) || "train ".equals(m.group(1)), m.group() + " in: " + r.err());
        assertFalse(Files.exists(out), "nothing encoded or written");
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
