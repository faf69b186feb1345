package io.higgs4j.trainer.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.higgs4j.json.JsonFields;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a run stands, saved as trainer_state.json in each checkpoint: optimizer steps done, the data position of
 * the next micro-batch, and the micro-step counter from which every micro-batch's RNG seed is derived (so resuming
 * repeats dropout exactly without saving generator states).
 */
public record TrainerState(long globalStep, int epoch, int batchIndex, long microStep, long seed, long totalSteps,
                           long tokensSeen) {

    public static final String FILE = "trainer_state.json";
    public static final String RNG_SCHEME = "Torch.manualSeed(seed * 1000003 + micro_step) before each micro-batch";

    public void write(Path dir) throws IOException {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("global_step", globalStep);
        n.put("epoch", epoch);
        n.put("batch_index", batchIndex);
        n.put("micro_step", microStep);
        n.put("seed", seed);
        n.put("total_steps", totalSteps);
        n.put("tokens_seen", tokensSeen);
        n.put("rng", RNG_SCHEME);
        Files.writeString(dir.resolve(FILE), n.toPrettyString());
    }

    /** The state saved in checkpoint; a field missing, of the wrong JSON type or negative is an error naming it. */
    public static TrainerState read(Path checkpoint) throws IOException {
        Path f = checkpoint.resolve(FILE);
        if (!Files.isRegularFile(f)) throw new IllegalArgumentException(checkpoint + " has no " + FILE + ": not a checkpoint");
        JsonFields n = CheckpointJson.read(f);
        return new TrainerState(count(n, "global_step", n.requiredLong("global_step")), count(n, "epoch", n.requiredInt("epoch")),
                count(n, "batch_index", n.requiredInt("batch_index")), count(n, "micro_step", n.requiredLong("micro_step")),
                n.requiredLong("seed"), count(n, "total_steps", n.longOr("total_steps", 0)),
                count(n, "tokens_seen", n.longOr("tokens_seen", 0)));
    }

    private static <T extends Number> T count(JsonFields n, String key, T value) {
        if (value.longValue() < 0) throw n.error(key, "must be >= 0, got " + value);
        return value;
    }
}
