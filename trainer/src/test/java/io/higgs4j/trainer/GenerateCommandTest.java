package io.higgs4j.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.higgs.GenerationConfig;
import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioGenerator;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.io.Npy;
import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class GenerateCommandTest {

    static Cli.Run run(String... args) {
        return Cli.run(args);
    }

    static List<JsonNode> metrics(Path out) throws Exception {
        List<JsonNode> l = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) l.add(new ObjectMapper().readTree(line));
        return l;
    }

    @Test
    void theDemoAdapterSpeaksThroughGenerateAsItsTrainingSamplesDid(@TempDir Path out) throws Exception {
        Cli.Run r = run("train", "--demo", "--output_dir", out.toString(), "--max_steps", "20", "--save_steps", "10");
        assertEquals(0, r.rc(), r.err());
        for (String step : List.of("step-10", "step-20")) {
            assertTrue(Files.isRegularFile(out.resolve("samples").resolve(step).resolve("speaker_0.codes.npy")), step);
        }
        JsonNode prompt = new ObjectMapper().readTree(out.resolve("demo-data/sample_prompts.jsonl").toFile());
        Path codes = out.resolve("generated.codes.npy");
        // The same prompt, model and seed: the command gives what the training-time sampler gave (the adapter merged
        // here, unmerged there).
        r = run("generate", "--model_path", out.resolve("demo-model").toString(), "--adapter", out.toString(),
                "--text", prompt.get("text").asText(), "--ref_text", prompt.get("ref_text").asText(),
                "--ref_codes", out.resolve("demo-data").resolve(prompt.get("ref_codes").asText()).toString(),
                "--prompt_layout", "train", "--seed", "0", "--max_new_tokens", prompt.get("max_new_tokens").asText(),
                "--codes_output", codes.toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("real-time factor"), r.out());
        long[][] sampled = Npy.read(out.resolve("samples/step-20/speaker_0.codes.npy")).rows();
        long[][] generated = Npy.read(codes).rows();
        assertEquals(8, generated.length);
        assertTrue(generated[0].length > 0);
        assertArrayEquals(sampled, generated);
    }

    @Test
    void samplingWhileTrainingLeavesTheTrainingAsItWas(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a"), b = dir.resolve("b");
        assertEquals(0, run("train", "--demo", "--output_dir", a.toString(), "--max_steps", "6", "--save_steps", "3",
                "--sample_steps", "1").rc());
        assertEquals(0, run("train", "--demo", "--output_dir", b.toString(), "--max_steps", "6", "--save_steps", "3",
                "--sample_prompts", "none").rc());
        try (Stream<Path> s = Files.list(a.resolve("samples"))) {
            assertEquals(6, s.count(), "a sample at every step");
        }
        assertFalse(Files.exists(b.resolve("samples")));
        List<JsonNode> ma = metrics(a), mb = metrics(b);
        for (int i = 0; i < 6; i++) {
            assertEquals(mb.get(i).get("loss").asDouble(), ma.get(i).get("loss").asDouble(), "step " + (i + 1));
            assertEquals(mb.get(i).get("grad_norm").asDouble(), ma.get(i).get("grad_norm").asDouble(), "step " + (i + 1));
        }
        assertArrayEquals(Files.readAllBytes(b.resolve("adapter_model.safetensors")), Files.readAllBytes(a.resolve("adapter_model.safetensors")));
    }

    static final long AUDIO_OUT_BOS = 1013, AUDIO_OUT = 1016, BOS = 1024;

    @Test
    void theTokenLevelWritesTheSequenceAndTheClipsInDelayPatternForm(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("out.json");
        long[] ids = {1000, 1006, 5, 6, 7, 1009, 1006, 9, 1007, AUDIO_OUT_BOS};
        Cli.Run r = run("generate", "--config", "tiny", "--seed", "5", "--input_ids", join(ids), "--do_sample", "false",
                "--max_new_tokens", "15", "--output_json", json.toString());
        assertEquals(0, r.rc(), r.err());
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        long[] seq = longs(root.get("sequence"));
        assertArrayEquals(ids, java.util.Arrays.copyOf(seq, ids.length), "the sequence starts with the prompt");
        assertEquals(AUDIO_OUT, seq[ids.length], "<|audio_out_bos|> is followed by one <|AUDIO_OUT|>");
        assertEquals(1, root.get("audio").size());
        JsonNode clip = root.get("audio").get(0);
        assertEquals(8, clip.size());
        int columns = clip.get(0).size();
        assertEquals(15, columns, "15 steps: the BOS column, then 14 audio columns (random weights do not emit EOS this soon)");
        for (int k = 0; k < 8; k++) {
            for (int c = 0; c <= Math.min(k, columns - 1); c++) {
                assertEquals(BOS, clip.get(k).get(c).asLong(), "codebook " + k + " is BOS until its delay is over (column " + c + ")");
            }
            for (int c = k + 1; c < columns; c++) assertTrue(clip.get(k).get(c).asLong() < 1024, "a code at " + k + "," + c);
        }

        // The command runs the library's generator on the same seeded model.
        Torch.manualSeed(5);
        HiggsAudioConfig tiny = HiggsAudioConfig.preset("tiny");
        try (HiggsAudioModel m = new HiggsAudioModel(tiny, new Init(DType.FLOAT32, Device.CPU, tiny.textConfig().initializerRange()));
             Scope s = Scope.open()) {
            HiggsAudioBatch prompt = new HiggsAudioBatch(Tensor.of(ids, 1, ids.length), null, null, null, null, null, null, null);
            HiggsAudioGenerator.Result res = new HiggsAudioGenerator(m).generate(prompt, GenerationConfig.greedy(15));
            assertArrayEquals(res.sequence(), seq);
            for (int k = 0; k < 8; k++) assertArrayEquals(res.audio().getFirst()[k], longs(clip.get(k)));
        }
    }

    /** The token level on the official loop's fixture (core's test resources): the same JSON the official _sample gave. */
    @Test
    void theTokenLevelReproducesTheOfficialLoopsFixture(@TempDir Path dir) throws Exception {
        Path fixture = Path.of("../core/src/test/resources/generation-parity").toAbsolutePath().normalize();
        JsonNode root = new ObjectMapper().readTree(fixture.resolve("cases.json").toFile());
        for (JsonNode c : root.get("cases")) {
            String name = c.get("name").asText();
            List<String> args = new ArrayList<>(List.of("generate", "--model_path", fixture.toString(), "--input_ids", join(longs(c.get("input_ids"))),
                    "--max_new_tokens", c.get("max_new_tokens").asText(), "--stop_token_ids", join(longs(c.get("stop_token_ids"))),
                    "--output_json", dir.resolve(name + ".json").toString()));
            for (String kind : List.of("audio_in_ids", "audio_out_ids")) {
                if (c.get(kind).isNull()) continue;
                Path npy = dir.resolve(name + "." + kind + ".npy");
                JsonNode rows = c.get(kind);
                long[][] m = new long[rows.size()][];
                for (int k = 0; k < m.length; k++) m[k] = longs(rows.get(k));
                Npy.write(npy, m, "<i8");
                args.addAll(List.of("--" + kind, npy.toString(), "--" + kind + "_start", join(longs(c.get(kind + "_start")))));
            }
            if (c.get("do_sample").asBoolean()) {
                args.addAll(List.of("--do_sample", "true", "--seed", c.get("seed").asText(), "--temperature", c.get("temperature").asText(),
                        "--top_k", c.get("top_k").asText(), "--top_p", c.get("top_p").asText(), "--ras_win_len", c.get("ras_win_len").asText(),
                        "--ras_win_max_num_repeat", c.get("ras_win_max_num_repeat").asText()));
            }
            Cli.Run r = run(args.toArray(String[]::new));
            assertEquals(0, r.rc(), name + ": " + r.err());
            JsonNode got = new ObjectMapper().readTree(dir.resolve(name + ".json").toFile());
            assertEquals(c.get("expected").get("sequence"), got.get("sequence"), name + " sequence");
            assertEquals(c.get("expected").get("audio"), got.get("audio"), name + " audio");
        }
    }

    static String join(long[] ids) {
        return String.join(",", java.util.Arrays.stream(ids).mapToObj(Long::toString).toList());
    }

    static long[] longs(JsonNode a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asLong();
        return out;
    }

    @Test
    void badInputIsNamedAndNothingIsWritten(@TempDir Path dir) throws Exception {
        Path wav = dir.resolve("out.wav"), codes = dir.resolve("out.codes.npy");
        String[] base = {"generate", "--config", "tiny", "--text", "hello world"};
        assertRefused(concat(base, "--output", wav.toString()), "--audio_tokenizer_path");
        assertRefused(concat(base, "--output", wav.toString(), "--audio_tokenizer_path", dir.resolve("nope").toString()), "has no config.json");
        assertRefused(concat(base, "--codes_output", dir.toString()), "is a directory");
        assertRefused(concat(base), "--output OUT.wav and/or --codes_output");
        assertRefused(new String[] {"generate", "--config", "tiny", "--text", "", "--codes_output", codes.toString()}, "--text is empty");
        assertRefused(concat(base, "--codes_output", codes.toString(), "--ref_text", "hi"), "--ref_text needs --ref_audio or --ref_codes");
        Path wrong = dir.resolve("wrong.npy");
        Npy.write(wrong, new long[][] {{1, 2, 3}, {4, 5, 6}}, "<i8");
        assertRefused(concat(base, "--codes_output", codes.toString(), "--ref_codes", wrong.toString(), "--ref_text", "hi"),
                "wrong.npy: expected codes of 8 codebooks");
        assertRefused(concat(base, "--codes_output", codes.toString(), "--prompt_layout", "chat"), "--prompt_layout must be official or train");
        assertRefused(concat(base, "--codes_output", codes.toString(), "--top_p", "0"), "top_p");
        assertRefused(concat(base, "--codes_output", codes.toString(), "--ras_win_len", "-1"), "--ras_win_len must be >= 0");
        assertRefused(concat(base, "--codes_output", codes.toString(), "--input_ids", "1,2"), "does not combine with --text");
        // One step only opens a clip: no audio, so nothing is written and the run fails.
        assertRefused(concat(base, "--codes_output", codes.toString(), "--max_new_tokens", "1"), "generated no audio");
        // An adapter made for another model (hidden 32, not 64).
        Path adapter = dir.resolve("adapter");
        HiggsAudioConfig tiny = HiggsAudioConfig.preset("tiny");
        var t = tiny.textConfig();
        HiggsAudioConfig narrow = new HiggsAudioConfig(new HiggsAudioConfig.LlamaConfig(32, 2, 4, 2, 8, 64, 1024, 1e-5, 500000.0,
                t.ropeScaling(), 0.02), "dual_ffn_fast_forward", java.util.Set.of(0, 1), 8, 1024, 1024, 1025, true, true, false,
                false, 64, tiny.audioInTokenIdx(), tiny.audioOutTokenIdx(), tiny.audioOutBosTokenId(), tiny.audioEosTokenId(), tiny.padTokenId());
        try (HiggsAudioModel m = new HiggsAudioModel(narrow, Init.cpu(DType.FLOAT32));
             LoraModel lora = LoraModel.apply(m, LoraConfig.of(4, 8, 0, "attention", List.of()), Init.cpu(DType.FLOAT32))) {
            lora.save(adapter);
        }
        assertRefused(concat(base, "--codes_output", codes.toString(), "--adapter", adapter.toString()), "does not fit the model");
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("adapter", "wrong.npy"), s.map(p -> p.getFileName().toString()).sorted().toList(), "nothing else written");
        }
    }

    @Test
    void aReferenceWavInASpeechWavOut(@TempDir Path dir) throws Exception {
        Path tok = AudioTokenizerCommandsTest.tinyTokenizer(dir.resolve("tok"), 1024);
        Path ref = dir.resolve("ref.wav"), wav = dir.resolve("out").resolve("speech.wav"), codes = dir.resolve("out").resolve("speech.codes.npy");
        io.higgs4j.audio.WavWriter.write(ref, AudioTokenizerCommandsTest.tone(16000, 16000, 200), 16000);
        Cli.Run r = run("generate", "--config", "tiny", "--text", "hello world", "--ref_audio", ref.toString(), "--ref_text", "good morning",
                "--audio_tokenizer_path", tok.toString(), "--output", wav.toString(), "--codes_output", codes.toString(),
                "--max_new_tokens", "30", "--seed", "1");
        assertEquals(0, r.rc(), r.err());
        long[][] c = Npy.read(codes).rows();
        assertEquals(8, c.length);
        assertEquals(30 - 8 + 1 - 2, c[0].length, "30 steps: 30 columns (the BOS column and 29 audio ones), less the delay (K - 1) and BOS/EOS");
        io.higgs4j.audio.Audio a = io.higgs4j.audio.WavReader.read(wav);
        assertEquals(24000, a.sampleRate());
        assertEquals(c[0].length * 960, a.samples().length, "960 samples a frame");

        Path garbage = Files.writeString(dir.resolve("garbage.wav"), "not a wav at all");
        Path out2 = dir.resolve("out2.wav");
        assertRefused(new String[] {"generate", "--config", "tiny", "--text", "hello world", "--ref_audio", garbage.toString(),
                "--ref_text", "good morning", "--audio_tokenizer_path", tok.toString(), "--output", out2.toString()}, "garbage.wav");
        assertFalse(Files.exists(out2));
        try (Stream<Path> s = Files.list(dir.resolve("out"))) {
            assertEquals(List.of("speech.codes.npy", "speech.wav"), s.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary file");
        }
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static void assertRefused(String[] args, String part) {
        Cli.Run r = run(args);
        assertNotEquals(0, r.rc(), String.join(" ", args));
        assertTrue(r.err().contains(part), "expected '" + part + "' in: " + r.err());
    }
}
