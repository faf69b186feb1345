package io.higgs4j.trainer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * metrics.jsonl: one JSON object per optimizer step, and one per evaluation (its keys start with {@code eval_}),
 * flushed as it is written.
 */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final BufferedWriter out;
    private final List<StepMetrics> history = new ArrayList<>();
    private final List<EvalMetrics> evalHistory = new ArrayList<>();

    /**
     * Opens path; when resuming from resumeStep, lines of later steps (written by the interrupted run after its last
     * checkpoint) are dropped so the file reads as one run.
     */
    public MetricsLog(Path path, long resumeStep) throws IOException {
        List<String> kept = new ArrayList<>();
        if (resumeStep > 0 && Files.exists(path)) {
            for (String line : Files.readAllLines(path, StandardCharsets.UTF_8)) {
                if (line.isBlank()) continue;
                JsonNode n = JSON.readTree(line);
                if (n.path("step").asLong() <= resumeStep) {
                    kept.add(line);
                    if (n.has("eval_loss")) evalHistory.add(evalFromJson(n));
                    else history.add(fromJson(n));
                }
            }
        }
        Files.createDirectories(path.toAbsolutePath().getParent());
        Files.write(path, kept, StandardCharsets.UTF_8);
        out = Files.newBufferedWriter(path, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    }

    private MetricsLog() {
        out = null;
    }

    /** A log that only keeps the history in memory (the ranks other than 0 of a data-parallel run). */
    public static MetricsLog inMemory() {
        return new MetricsLog();
    }

    public void write(StepMetrics m) throws IOException {
        if (out == null) {
            history.add(m);
            return;
        }
        ObjectNode n = JSON.createObjectNode();
        n.put("step", m.step());
        n.put("loss", m.loss());
        n.put("text_loss", m.textLoss());
        n.put("audio_loss", m.audioLoss());
        var cb = n.putArray("codebook_losses");
        for (double v : m.codebookLosses()) cb.add(v);
        n.put("lr", m.lr());
        n.put("grad_norm", m.gradNorm());
        n.put("tokens_per_s", m.tokensPerSecond());
        n.put("mem_bytes", m.memBytes());
        out.write(JSON.writeValueAsString(n));
        out.newLine();
        out.flush();
        history.add(m);
    }

    public List<StepMetrics> history() {
        return List.copyOf(history);
    }

    /** An evaluation's record: step, eval_loss, eval_text_loss, eval_audio_loss, per-codebook losses and accuracy, targets. */
    public void writeEval(EvalMetrics m) throws IOException {
        evalHistory.add(m);
        if (out == null) return;
        ObjectNode n = JSON.createObjectNode();
        n.put("step", m.step());
        n.put("eval_loss", m.loss());
        n.put("eval_text_loss", m.textLoss());
        n.put("eval_audio_loss", m.audioLoss());
        var cb = n.putArray("eval_codebook_losses");
        for (double v : m.codebookLosses()) cb.add(v);
        var acc = n.putArray("eval_codebook_accuracy");
        for (double v : m.codebookAccuracy()) acc.add(v);
        n.put("eval_text_targets", m.textTargets());
        n.put("eval_audio_targets", m.audioTargets());
        out.write(JSON.writeValueAsString(n));
        out.newLine();
        out.flush();
    }

    public List<EvalMetrics> evalHistory() {
        return List.copyOf(evalHistory);
    }

    private static EvalMetrics evalFromJson(JsonNode n) {
        double[] cb = new double[n.path("eval_codebook_losses").size()], acc = new double[n.path("eval_codebook_accuracy").size()];
        for (int i = 0; i < cb.length; i++) cb[i] = n.path("eval_codebook_losses").get(i).asDouble();
        for (int i = 0; i < acc.length; i++) acc[i] = n.path("eval_codebook_accuracy").get(i).asDouble();
        return new EvalMetrics(n.path("step").asLong(), n.path("eval_loss").asDouble(), n.path("eval_text_loss").asDouble(),
                n.path("eval_audio_loss").asDouble(), cb, acc, n.path("eval_text_targets").asLong(), n.path("eval_audio_targets").asLong());
    }

    private static StepMetrics fromJson(JsonNode n) {
        double[] cb = new double[n.path("codebook_losses").size()];
        for (int i = 0; i < cb.length; i++) cb[i] = n.path("codebook_losses").get(i).asDouble();
        return new StepMetrics(n.path("step").asLong(), n.path("loss").asDouble(), n.path("text_loss").asDouble(),
                n.path("audio_loss").asDouble(), cb, n.path("lr").asDouble(), n.path("grad_norm").asDouble(),
                n.path("tokens_per_s").asDouble(), n.path("mem_bytes").asLong(), 0);
    }

    @Override
    public void close() throws IOException {
        if (out != null) out.close();
    }
}
