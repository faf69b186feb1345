package io.higgs4j.trainer.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.higgs4j.json.JsonFields;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * training_args.json in every checkpoint (as Hugging Face's Trainer keeps training_args.bin): the options that decide
 * where a run goes. A resumed run repeats the uninterrupted one only with the same ones. The data layout (micro-batch
 * size, accumulation, ranks, batches per epoch) must match, or the checkpoint's epoch and batch index point into other
 * batches; the optimisation settings may change on purpose (a lower learning rate to go on with), which is said.
 */
public record TrainingArgs(int batchSize, int gradientAccumulationSteps, int worldSize, long batchesPerEpoch,
                           double learningRate, String lrScheduler, long warmupSteps, double weightDecay,
                           double maxGradNorm, double textLossWeight, String audioLossReduction) {

    public static final String FILE = "training_args.json";

    public void write(Path dir) throws IOException {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("batch_size", batchSize);
        n.put("gradient_accumulation_steps", gradientAccumulationSteps);
        n.put("world_size", worldSize);
        n.put("batches_per_epoch", batchesPerEpoch);
        n.put("learning_rate", learningRate);
        n.put("lr_scheduler", lrScheduler);
        n.put("warmup_steps", warmupSteps);
        n.put("weight_decay", weightDecay);
        n.put("max_grad_norm", maxGradNorm);
        n.put("text_loss_weight", textLossWeight);
        n.put("audio_loss_reduction", audioLossReduction);
        Files.writeString(dir.resolve(FILE), n.toPrettyString());
    }

    /** The checkpoint's arguments, or empty for a checkpoint written before they were kept. */
    public static Optional<TrainingArgs> read(Path checkpoint) throws IOException {
        Path f = checkpoint.resolve(FILE);
        if (!Files.isRegularFile(f)) return Optional.empty();
        JsonFields n = CheckpointJson.read(f);
        return Optional.of(new TrainingArgs(n.requiredInt("batch_size"), n.requiredInt("gradient_accumulation_steps"),
                n.requiredInt("world_size"), n.requiredLong("batches_per_epoch"), n.requiredDouble("learning_rate"),
                n.requiredString("lr_scheduler"), n.requiredLong("warmup_steps"), n.requiredDouble("weight_decay"),
                n.requiredDouble("max_grad_norm"), n.requiredDouble("text_loss_weight"), n.requiredString("audio_loss_reduction")));
    }

    /** How this run's data layout differs from the checkpoint's (saved), one "--option now, checkpoint was" each. */
    public List<String> layoutDifferences(TrainingArgs saved) {
        List<String> d = new ArrayList<>();
        differ(d, "--batch_size", batchSize, saved.batchSize);
        differ(d, "--gradient_accumulation_steps", gradientAccumulationSteps, saved.gradientAccumulationSteps);
        differ(d, "ranks (launch --nproc_per_node x nodes)", worldSize, saved.worldSize);
        differ(d, "batches per epoch (the data set)", batchesPerEpoch, saved.batchesPerEpoch);
        return d;
    }

    /** How this run's optimisation settings differ from the checkpoint's (saved). */
    public List<String> settingDifferences(TrainingArgs saved) {
        List<String> d = new ArrayList<>();
        differ(d, "--learning_rate", learningRate, saved.learningRate);
        differ(d, "--lr_scheduler", lrScheduler, saved.lrScheduler);
        differ(d, "--warmup_steps", warmupSteps, saved.warmupSteps);
        differ(d, "--weight_decay", weightDecay, saved.weightDecay);
        differ(d, "--max_grad_norm", maxGradNorm, saved.maxGradNorm);
        differ(d, "--text_loss_weight", textLossWeight, saved.textLossWeight);
        differ(d, "--audio_loss_reduction", audioLossReduction, saved.audioLossReduction);
        return d;
    }

    private static void differ(List<String> out, String option, Object now, Object saved) {
        if (!Objects.equals(now, saved)) out.add(option + " " + now + " (the checkpoint's run: " + saved + ")");
    }
}
