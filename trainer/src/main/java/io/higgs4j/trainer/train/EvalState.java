package io.higgs4j.trainer.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.higgs4j.json.JsonFields;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the evaluations of a run stand, saved as eval_state.json in each checkpoint so that a resumed run keeps its
 * best-so-far and its early-stopping count: the best held-out loss and its step, evaluations since it, the last step
 * evaluated (-1: none yet).
 */
public record EvalState(double bestLoss, long bestStep, int sinceBest, long lastEvalStep) {

    public static final String FILE = "eval_state.json";
    public static final EvalState NONE = new EvalState(Double.POSITIVE_INFINITY, -1, 0, -1);

    /** After an evaluation of loss at step: a new best resets the count, anything else adds one. */
    public EvalState after(long step, double loss) {
        return loss < bestLoss ? new EvalState(loss, step, 0, step) : new EvalState(bestLoss, bestStep, sinceBest + 1, step);
    }

    public boolean improvedAt(long step) {
        return bestStep == step;
    }

    public void write(Path dir) throws IOException {
        ObjectNode n = new ObjectMapper().createObjectNode();
        if (bestStep >= 0) n.put("best_eval_loss", bestLoss);
        n.put("best_step", bestStep);
        n.put("evaluations_since_best", sinceBest);
        n.put("last_eval_step", lastEvalStep);
        Files.writeString(dir.resolve(FILE), n.toPrettyString());
    }

    /** The state saved in checkpoint, or NONE when it has none (a run without evaluation). */
    public static EvalState read(Path checkpoint) throws IOException {
        Path f = checkpoint.resolve(FILE);
        if (!Files.isRegularFile(f)) return NONE;
        JsonFields n = CheckpointJson.read(f);
        long bestStep = n.requiredLong("best_step");
        int sinceBest = n.requiredInt("evaluations_since_best");
        long lastEval = n.requiredLong("last_eval_step");
        if (bestStep < -1) throw n.error("best_step", "must be >= -1 (-1: no evaluation yet), got " + bestStep);
        if (sinceBest < 0) throw n.error("evaluations_since_best", "must be >= 0, got " + sinceBest);
        if (lastEval < -1) throw n.error("last_eval_step", "must be >= -1 (-1: no evaluation yet), got " + lastEval);
        double best = bestStep >= 0 ? n.requiredDouble("best_eval_loss") : Double.POSITIVE_INFINITY;
        return new EvalState(best, bestStep, sinceBest, lastEval);
    }
}
