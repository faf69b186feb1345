package io.higgs4j.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.safetensors.SafetensorsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

class TrainCommandTest {

    record Run(int rc, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        var cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        int rc = cl.execute(args);
        return new Run(rc, err.toString(StandardCharsets.UTF_8));
    }

    static List<JsonNode> metrics(Path out) throws Exception {
        List<JsonNode> l = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) l.add(new ObjectMapper().readTree(line));
        return l;
    }

    @Test
    void aShortDemoRunLearnsAndLeavesAnAdapter(@TempDir Path out) throws Exception {
        Run r = run("train", "--demo", "--output_dir", out.toString(), "--max_steps", "40", "--save_steps", "20");
        assertEquals(0, r.rc(), r.err());
        List<JsonNode> m = metrics(out);
        assertEquals(40, m.size());
        for (String k : List.of("step", "loss", "text_loss", "audio_loss", "codebook_losses", "lr", "grad_norm", "tokens_per_s", "mem_bytes")) {
            assertTrue(m.getFirst().has(k), k);
        }
        assertEquals(8, m.getFirst().get("codebook_losses").size());
        double first = m.getFirst().get("loss").asDouble(), last = m.getLast().get("loss").asDouble();
        assertTrue(last < first / 2, "loss fell from " + first + " to " + last);
        for (String f : List.of("adapter_model.safetensors", "adapter_config.json", "loss_curve.png", "checkpoint-20", "checkpoint-40")) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("adapter_model.safetensors"))) {
            assertTrue(f.contains("base_model.model.layers.0.self_attn.q_proj.lora_A.weight"));
        }
        // --resume continues after the last checkpoint: to 50 steps.
        r = run("train", "--demo", "--output_dir", out.toString(), "--max_steps", "50", "--save_steps", "20", "--resume");
        assertEquals(0, r.rc(), r.err());
        assertEquals(50, metrics(out).size());
        assertEquals(50, metrics(out).getLast().get("step").asInt());
    }

    /**
     * Full fine-tuning with gradient checkpointing: every weight moves, the model is saved in the released layout, and a
     * run resumed from checkpoint-4 ends with the very weights of the uninterrupted run.
     */
    @Test
    void fullFineTuningSavesTheModelAndResumesExactly(@TempDir Path out) throws Exception {
        String o = out.toString();
        Run r = run("train", "--demo", "--output_dir", o, "--finetune", "full", "--gradient_checkpointing", "--max_steps", "8",
                "--save_steps", "4", "--sample_steps", "0");
        assertEquals(0, r.rc(), r.err());
        double first = metrics(out).getFirst().get("loss").asDouble(), last = metrics(out).getLast().get("loss").asDouble();
        assertTrue(last < first, "loss fell from " + first + " to " + last);
        assertTrue(Files.exists(out.resolve("config.json")));
        assertFalse(Files.exists(out.resolve("adapter_model.safetensors")));
        String name = "audio_decoder_proj.text_lm_head.weight";
        float[] uninterrupted, base;
        try (var ckpt = io.higgs4j.safetensors.SafetensorsCheckpoint.open(out);
             var demo = io.higgs4j.safetensors.SafetensorsCheckpoint.open(out.resolve("demo-model"));
             var s = io.higgs4j.torch.Scope.open()) {
            assertEquals(demo.names().size(), ckpt.names().size(), "every weight saved under the released names");
            uninterrupted = ckpt.load(name).toFloatArray();
            base = demo.load(name).toFloatArray();
        }
        assertFalse(java.util.Arrays.equals(uninterrupted, base), "the text head was trained");
        deleteTree(out.resolve("checkpoint-8"));
        r = run("train", "--demo", "--output_dir", o, "--finetune", "full", "--gradient_checkpointing", "--max_steps", "8",
                "--save_steps", "4", "--sample_steps", "0", "--resume");
        assertEquals(0, r.rc(), r.err());
        try (var ckpt = io.higgs4j.safetensors.SafetensorsCheckpoint.open(out); var s = io.higgs4j.torch.Scope.open()) {
            assertArrayEquals(uninterrupted, ckpt.load(name).toFloatArray(), "resumed from checkpoint-4");
        }
        r = run("train", "--demo", "--output_dir", o, "--max_steps", "12", "--resume");
        assertEquals(1, r.rc(), "a LoRA run cannot resume a full checkpoint");
        assertTrue(r.err().contains("is a full fine-tuning checkpoint"), r.err());
        r = run("train", "--demo", "--output_dir", o, "--finetune", "full", "--dtype", "bf16");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("--dtype bf16 is not supported with it"), r.err());
    }

    private static void deleteTree(Path dir) throws java.io.IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    /** Whisper on: reference WAVs through the log-mel front end and the tiny Whisper tower, end to end. */
    @Test
    void aShortDemoRunWithWhisper(@TempDir Path out) throws Exception {
        Run r = run("train", "--demo", "--encode_whisper_embed", "--output_dir", out.toString(), "--max_steps", "12", "--save_steps", "0");
        assertEquals(0, r.rc(), r.err());
        List<JsonNode> m = metrics(out);
        assertEquals(12, m.size());
        assertTrue(m.getLast().get("loss").asDouble() < m.getFirst().get("loss").asDouble(), m.getFirst() + " -> " + m.getLast());
        var cfg = new ObjectMapper().readTree(out.resolve("adapter_config.json").toFile());
        assertTrue(cfg.get("modules_to_save").toString().contains("audio_encoder_proj"), "the new projection is trained in full");
        try (var s = Files.list(out.resolve("demo-data").resolve("codes"))) {
            assertTrue(s.anyMatch(p -> p.toString().endsWith("_ref.wav")), "the demo wrote reference WAVs");
        }
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("adapter_model.safetensors"))) {
            assertTrue(f.contains("base_model.model.audio_encoder_proj.linear.weight"));
        }
    }

    /**
     * The Whisper cache with the tower frozen (LoRA off it): the same losses, bit for bit, as running the tower every
     * step, whether the tower outputs come from memory (second epoch) or from the disk of an earlier run; with the
     * default targets LoRA reaches the tower and the cache stays off.
     */
    @Test
    void theWhisperCacheLeavesTheLossesAsTheyAre(@TempDir Path dir) throws Exception {
        Path shared = dir.resolve("cache");
        List<String> common = List.of("train", "--demo", "--encode_whisper_embed", "--lora_targets", "mlp,audio", "--max_steps", "13",
                "--save_steps", "0", "--sample_prompts", "none");
        List<double[]> losses = new ArrayList<>();
        for (List<String> extra : List.of(List.of("--whisper_cache", "off"), List.of("--whisper_cache_dir", shared.toString()),
                List.of("--whisper_cache_dir", shared.toString(), "--whisper_cache_mb", "0"))) {
            Path out = dir.resolve("run" + losses.size());
            List<String> args = new ArrayList<>(common);
            args.addAll(List.of("--output_dir", out.toString()));
            args.addAll(extra);
            Run r = run(args.toArray(String[]::new));
            assertEquals(0, r.rc(), r.err());
            losses.add(metrics(out).stream().mapToDouble(m -> m.get("loss").asDouble()).toArray());
            if (losses.size() == 1) assertFalse(Files.exists(shared), "--whisper_cache off writes nothing");
        }
        assertEquals(13, losses.getFirst().length, "12 batches per epoch: the last step sees its clips again");
        assertArrayEquals(losses.get(0), losses.get(1), "tower outputs computed, then from memory");
        assertArrayEquals(losses.get(0), losses.get(2), "tower outputs from the first cached run's files");
        try (var towers = Files.list(shared)) {
            Path tower = towers.findFirst().orElseThrow();
            try (var files = Files.list(tower)) {
                assertEquals(48, files.count(), "one file per reference clip of the 48 demo samples seen");
            }
        }
        Path out = dir.resolve("defaults");
        Run r = run("train", "--demo", "--encode_whisper_embed", "--max_steps", "1", "--save_steps", "0", "--sample_prompts", "none",
                "--output_dir", out.toString());
        assertEquals(0, r.rc(), r.err());
        assertFalse(Files.exists(out.resolve("demo-data").resolve("whisper_cache")), "the attention preset trains the tower: no cache");
    }

    /** --model_path: config.json, safetensors weights and tokenizer.json from one directory; data from --data_path. */
    @Test
    void trainsFromAModelDirectory(@TempDir Path dir) throws Exception {
        var config = io.higgs4j.higgs.HiggsAudioConfig.preset("tiny");
        Path model = Files.createDirectories(dir.resolve("model"));
        Files.writeString(model.resolve("config.json"), config.toJson().toPrettyString());
        try (var in = io.higgs4j.trainer.data.TextTokenizer.class.getResourceAsStream(io.higgs4j.trainer.data.TextTokenizer.DEMO_RESOURCE)) {
            Files.copy(in, model.resolve("tokenizer.json"));
        }
        try (var m = new io.higgs4j.higgs.HiggsAudioModel(config, io.higgs4j.nn.Init.cpu(io.higgs4j.torch.DType.BFLOAT16))) {
            io.higgs4j.safetensors.SafetensorsWriter.write(model.resolve("model.safetensors"), m.namedParameters());
        }
        Path data = io.higgs4j.trainer.data.DemoData.write(dir.resolve("data"), 8, 2, 8, 1024, 5);
        Path out = dir.resolve("out");
        Run r = run("train", "--data_path", data.toString(), "--model_path", model.toString(), "--output_dir", out.toString(),
                "--max_steps", "3", "--batch-size", "2", "--lora-targets", "attention", "--modules_to_save", "none");
        assertEquals(0, r.rc(), r.err());
        assertEquals(3, metrics(out).size());
        var cfg = new ObjectMapper().readTree(out.resolve("adapter_config.json").toFile());
        assertEquals(model.toString(), cfg.get("base_model_name_or_path").asText());
        assertTrue(cfg.get("modules_to_save").isNull());
        assertEquals(4, cfg.get("target_modules").size());
    }

    @Test
    void badCommandLinesExitWithCode2AndSayWhy(@TempDir Path out) {
        String o = out.toString();
        for (String[] args : List.of(
                new String[] {"train", "--output_dir", o},
                new String[] {"train", "--output_dir", o, "--data_path", "x.jsonl", "--config", "tiny", "--model_path", "m"},
                new String[] {"train", "--demo", "--output_dir", o, "--learning_rate", "-1"},
                new String[] {"train", "--demo", "--output_dir", o, "--batch_size", "0"},
                new String[] {"train", "--demo", "--output_dir", o, "--lora_dropout", "1.5"},
                new String[] {"train", "--demo", "--output_dir", o, "--lr_scheduler", "exponential"},
                new String[] {"train", "--demo", "--output_dir", o, "--audio_loss_reduction", "max"},
                new String[] {"train", "--demo", "--output_dir", o, "--dtype", "fp8"},
                new String[] {"train", "--demo", "--output_dir", o, "--device", "tpu"},
                new String[] {"train", "--demo", "--output_dir", o, "--num_epochs", "many"},
                new String[] {"train", "--demo", "--output_dir", o, "--whisper_cache_mb", "64"},
                new String[] {"train", "--demo", "--output_dir", o, "--encode_whisper_embed", "--whisper_cache", "maybe"},
                new String[] {"train", "--demo", "--output_dir", o, "--encode_whisper_embed", "--whisper_cache_mb", "-1"},
                // NaN passes every comparison: each would have been taken silently (clipping off, decay NaN, ...)
                new String[] {"train", "--demo", "--output_dir", o, "--max_grad_norm", "NaN"},
                new String[] {"train", "--demo", "--output_dir", o, "--weight_decay", "NaN"},
                new String[] {"train", "--demo", "--output_dir", o, "--text_loss_weight", "NaN"},
                new String[] {"train", "--demo", "--output_dir", o, "--save_total_limit", "-1"},
                new String[] {"train", "--demo", "--output_dir", o, "--logging_steps", "0"},
                new String[] {"train", "--demo"})) {
            Run r = run(args);
            assertEquals(2, r.rc(), String.join(" ", args) + " -> " + r.err());
            assertFalse(r.err().isBlank(), String.join(" ", args));
        }
        Run r = run("train", "--demo", "--output_dir", o, "--learning_rate", "-1");
        assertTrue(r.err().contains("--learning_rate must be > 0"), r.err());
        r = run("train", "--demo", "--output_dir", o, "--whisper_cache_dir", o);
        assertTrue(r.err().contains("--whisper_cache_dir needs --encode_whisper_embed"), r.err());
        r = run("train", "--demo", "--output_dir", o, "--resume");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("no checkpoint"), r.err());
    }

    /**
     * One --output_dir, one run: a new run does not start among another's checkpoints (pruning would keep the old,
     * higher steps and delete its own), a resumed run does not start behind later checkpoints, and a resumed run keeps
     * its batches. The demo starts over in its own folder.
     */
    @Test
    void aRunKeepsItsOutputDirToItself(@TempDir Path out) throws Exception {
        String o = out.toString();
        Run r = run("train", "--demo", "--output_dir", o, "--max_steps", "4", "--save_steps", "2", "--sample_steps", "0");
        assertEquals(0, r.rc(), r.err());
        List<String> before = listing(out);
        assertTrue(before.containsAll(List.of("checkpoint-2", "checkpoint-4")), before.toString());
        String data = out.resolve("demo-data").resolve("demo.jsonl").toString(), model = out.resolve("demo-model").toString();
        assertTrue(Files.exists(Path.of(data)) && Files.isDirectory(Path.of(model)), listing(out).toString());

        r = run("train", "--data_path", data, "--model_path", model, "--output_dir", o, "--max_steps", "2");
        assertEquals(2, r.rc(), r.err());
        assertTrue(r.err().contains("holds checkpoints of an earlier run (checkpoint-2, checkpoint-4)"), r.err());
        r = run("train", "--demo", "--output_dir", o, "--max_steps", "4", "--resume", out.resolve("checkpoint-2").toString());
        assertEquals(2, r.rc(), r.err());
        assertTrue(r.err().contains("later checkpoints (checkpoint-4)"), r.err());
        r = run("train", "--demo", "--output_dir", o, "--max_steps", "6", "--save_steps", "2", "--batch_size", "2", "--resume");
        assertEquals(2, r.rc(), r.err());
        assertTrue(r.err().contains("--batch_size 2 (the checkpoint's run: 4)"), r.err());
        assertEquals(before, listing(out), "the refused runs changed nothing");
        assertEquals(4, metrics(out).size());

        // another learning rate is allowed on resume (said in a warning)
        r = run("train", "--demo", "--output_dir", o, "--max_steps", "6", "--save_steps", "2", "--learning_rate", "1e-3",
                "--sample_steps", "0", "--resume");
        assertEquals(0, r.rc(), r.err());
        assertEquals(6, metrics(out).getLast().get("step").asInt());
        // the demo starts over in its own folder
        r = run("train", "--demo", "--output_dir", o, "--max_steps", "2", "--save_steps", "2", "--sample_steps", "0");
        assertEquals(0, r.rc(), r.err());
        assertTrue(Files.exists(out.resolve("checkpoint-2")));
        assertFalse(Files.exists(out.resolve("checkpoint-4")) || Files.exists(out.resolve("checkpoint-6")), listing(out).toString());
        assertEquals(2, metrics(out).size());
    }

    /** A prompts file's errors name its file, line and keys (they named generate's options). */
    @Test
    void samplePromptErrorsNameTheFileLineAndKey(@TempDir Path dir) throws Exception {
        Path prompts = dir.resolve("prompts.jsonl");
        for (String[] c : new String[][] {
                {"{\"name\": \"a\", \"text\": \"hi\", \"ref_text\": \"x\"}", "line 1: \"ref_text\" is given without a reference clip (\"ref_audio\" or \"ref_codes\")"},
                {"{\"name\": \"b\", \"text\": \"hi\", \"ref_text\": \"x\", \"ref_codes\": \"missing.npy\"}", "line 1: \"ref_codes\" " + dir.resolve("missing.npy") + " is not a file"}}) {
            Files.writeString(prompts, c[0] + "\n");
            Run r = run("train", "--demo", "--output_dir", dir.resolve("out").toString(), "--max_steps", "1", "--sample_prompts", prompts.toString(),
                    "--sample_steps", "1");
            assertEquals(1, r.rc(), r.err());
            assertTrue(r.err().contains(prompts + " " + c[1]), r.err());
        }
    }

    private static List<String> listing(Path dir) throws java.io.IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void helpDocumentsEveryOptionWithItsDefault() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        assertEquals(0, cl.execute("train", "--help"));
        String help = out.toString(StandardCharsets.UTF_8);
        for (String opt : List.of("--data_path", "--output_dir", "--batch_size", "--learning_rate", "--num_epochs",
                "--gradient_accumulation_steps", "--warmup_steps", "--save_steps", "--max_grad_norm", "--lora_r", "--lora_alpha",
                "--lora_dropout", "--lora_targets", "--modules_to_save", "--seed", "--model_path", "--config", "--resume",
                "--whisper_cache", "--whisper_cache_mb", "--whisper_cache_dir")) {
            assertTrue(help.contains(opt), opt);
        }
        assertTrue(help.contains("--learning-rate"), "kebab-case aliases");
        assertTrue(help.contains("(default: 2e-4)"), help);
    }

    /** SIGTERM (what Ctrl-C's SIGINT also does: run the shutdown hooks) leaves a complete checkpoint behind. */
    @Test
    void interruptingSavesACheckpoint(@TempDir Path out) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "train", "--demo", "--output_dir", out.toString(), "--max_steps", "100000", "--save_steps", "0")
                .redirectErrorStream(true).redirectOutput(out.resolveSibling(out.getFileName() + ".log").toFile()).start();
        Path metrics = out.resolve("metrics.jsonl");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && (!Files.exists(metrics) || Files.readAllLines(metrics).size() < 3)) Thread.sleep(200);
        assertTrue(Files.exists(metrics), "training did not start");
        p.destroy();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "did not stop");
        List<Path> checkpoints;
        try (var s = Files.list(out)) {
            checkpoints = s.filter(x -> x.getFileName().toString().startsWith("checkpoint-")).toList();
        }
        assertEquals(1, checkpoints.size(), "one checkpoint, saved on the way out: " + checkpoints);
        Path c = checkpoints.getFirst();
        for (String f : List.of("adapter_model.safetensors", "optimizer.safetensors", "trainer_state.json")) assertTrue(Files.exists(c.resolve(f)), f);
        long step = new ObjectMapper().readTree(c.resolve("trainer_state.json").toFile()).get("global_step").asLong();
        assertEquals(step, Long.parseLong(c.getFileName().toString().substring("checkpoint-".length())));
        try (var s = Files.list(out)) {
            assertTrue(s.noneMatch(x -> x.getFileName().toString().contains(".tmp-")));
        }
    }
}
