package io.higgs4j.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** train with held-out evaluation, end to end on the demo: schedule, records, best/, early stopping, resume. */
class EvaluationRunTest {

    static List<JsonNode> evals(Path out) throws Exception {
        List<JsonNode> l = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            JsonNode n = new ObjectMapper().readTree(line);
            if (n.has("eval_loss")) l.add(n);
        }
        return l;
    }

    static String[] args(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--demo", "--output_dir", out.toString(), "--eval_ratio", "0.25",
                "--eval_steps", "10", "--save_steps", "10", "--sample_prompts", "none"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void heldOutLossStopsTheRunAndTheBestCheckpointStays(@TempDir Path out) throws Exception {
        // Audio loss only (text weight 0): on the held-out speaker it worsens as the adapter learns the others.
        TrainCommandTest.Run r = TrainCommandTest.run(args(out, "--max_steps", "60", "--save_total_limit", "1",
                "--text_loss_weight", "0", "--early_stopping_patience", "2"));
        assertEquals(0, r.rc(), r.err());
        List<JsonNode> e = evals(out);
        assertEquals(List.of(10L, 20L, 30L), e.stream().map(n -> n.get("step").asLong()).toList(), "stopped after two worse evaluations");
        assertTrue(e.get(1).get("eval_loss").asDouble() > e.get(0).get("eval_loss").asDouble());
        assertTrue(e.get(2).get("eval_loss").asDouble() > e.get(0).get("eval_loss").asDouble());
        JsonNode first = e.getFirst();
        for (String k : List.of("eval_text_loss", "eval_audio_loss", "eval_text_targets", "eval_audio_targets")) assertTrue(first.has(k), k);
        assertEquals(8, first.get("eval_codebook_losses").size());
        assertEquals(8, first.get("eval_codebook_accuracy").size());
        assertEquals(first.get("eval_audio_loss").asDouble(), first.get("eval_loss").asDouble(), 0.0, "text weight 0");
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(List.of("best", "checkpoint-30"), s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("checkpoint") || n.equals("best")).sorted().toList(), "best/ outlives --save_total_limit 1");
        }
        JsonNode best = new ObjectMapper().readTree(out.resolve("best/eval_state.json").toFile());
        assertEquals(10, best.get("best_step").asLong());
        assertEquals(first.get("eval_loss").asDouble(), best.get("best_eval_loss").asDouble(), 0.0);
        assertTrue(Files.isRegularFile(out.resolve("best/adapter_model.safetensors")));
        assertEquals(30, Files.readAllLines(out.resolve("metrics.jsonl")).stream().filter(l -> !l.contains("eval_loss")).count(), "30 steps");
    }

    @Test
    void aResumedRunKeepsTheScheduleAndTheBest(@TempDir Path dir) throws Exception {
        Path whole = dir.resolve("whole"), split = dir.resolve("split");
        String[] constant = {"--lr_scheduler", "constant"};
        assertEquals(0, TrainCommandTest.run(concat(args(whole, "--max_steps", "40"), constant)).rc());
        assertEquals(0, TrainCommandTest.run(concat(args(split, "--max_steps", "20"), constant)).rc());
        TrainCommandTest.Run r = TrainCommandTest.run(concat(args(split, "--max_steps", "40", "--resume"), constant));
        assertEquals(0, r.rc(), r.err());
        List<JsonNode> a = evals(whole), b = evals(split);
        assertEquals(List.of(10L, 20L, 30L, 40L), a.stream().map(n -> n.get("step").asLong()).toList());
        assertEquals(a.size(), b.size(), "one record per evaluation, none repeated by the resume");
        for (int i = 0; i < a.size(); i++) assertEquals(a.get(i), b.get(i), "evaluation at step " + a.get(i).get("step"));
        assertEquals(new ObjectMapper().readTree(whole.resolve("best/eval_state.json").toFile()),
                new ObjectMapper().readTree(split.resolve("best/eval_state.json").toFile()));
        assertArrayEquals(Files.readAllBytes(whole.resolve("best/adapter_model.safetensors")),
                Files.readAllBytes(split.resolve("best/adapter_model.safetensors")));
    }

    @Test
    void evaluationOptionsNeedHeldOutData(@TempDir Path out) {
        TrainCommandTest.Run r = TrainCommandTest.run("train", "--demo", "--output_dir", out.toString(), "--eval_steps", "5");
        assertNotEquals(0, r.rc());
        assertTrue(r.err().contains("--eval_steps needs held-out data"), r.err());
        r = TrainCommandTest.run("train", "--demo", "--output_dir", out.toString(), "--eval_ratio", "1.5");
        assertTrue(r.err().contains("--eval_ratio must be in (0, 1)"), r.err());
        r = TrainCommandTest.run("train", "--demo", "--output_dir", out.toString(), "--eval_ratio", "0.2", "--eval_data_path", "x.jsonl");
        assertTrue(r.err().contains("not both"), r.err());
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
