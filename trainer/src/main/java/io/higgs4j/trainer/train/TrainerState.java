package io.higgs4j.trainer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

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

    public static TrainerState read(Path checkpoint) throws IOException {
        Path f = checkpoint.resolve(FILE);
        if (!Files.isRegularFile(f)) throw new IllegalArgumentException(checkpoint + " has no " + FILE + ": not a checkpoint");
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(f.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(f + " is not valid JSON: " + e.getMessage());
        }
        for (String k : new String[] {"global_step", "epoch", "batch_index", "micro_step", "seed"}) {
            if (!n.path(k).canConvertToLong()) throw new IllegalArgumentException(f + " lacks " + k);
        }
        return new TrainerState(n.get("global_step").asLong(), n.get("epoch").asInt(), n.get("batch_index").asInt(),
                n.get("micro_step").asLong(), n.get("seed").asLong(), n.path("total_steps").asLong(), n.path("tokens_seen").asLong());
    }
}
