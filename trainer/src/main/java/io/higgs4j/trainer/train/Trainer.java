package io.higgs4j.trainer.train;

import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioLoss;
import io.higgs4j.higgs.TrainingPass;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.optim.AdamW;
import io.higgs4j.optim.GradClip;
import io.higgs4j.safetensors.SafetensorsFile;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.Device;
import io.higgs4j.trainer.data.BatchSource;
import io.higgs4j.trainer.dist.GradientBuckets;
import io.higgs4j.trainer.dist.ProcessGroup;
import io.higgs4j.trainer.dist.ProcessGroups;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The LoRA training loop: micro-batches with gradient accumulation, the multi-codebook loss, clipping, AdamW, the
 * schedule, metrics, checkpoints and exact resume. Every micro-batch reseeds the RNG from (seed, micro-step), so a
 * resumed run repeats the uninterrupted one's dropout masks.
 *
 * <p>Data parallelism: with a {@link ProcessGroup} of W ranks, each rank reads its own share of the batches (see
 * {@link io.higgs4j.trainer.data.ShardedBatches}); rank 0's trainable weights are broadcast at the start (after a
 * resume too); after the last micro-batch's backward of every step the gradients are averaged over the ranks (in
 * buckets); the loss numbers are averaged too, so every rank logs and clips the same. A step of W ranks with
 * accumulation A is then the step of one process with accumulation W x A over the same batches, and the micro-batch
 * of global index g is seeded with g on whichever rank runs it. Only rank 0 writes metrics.jsonl, progress and
 * checkpoints. A rank that fails aborts the group, so the others stop with a message instead of waiting.
 */
public final class Trainer {

    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";

    /** gradientCheckpointing re-runs each decoder layer in backward instead of keeping its activations. */
    public record Settings(int gradientAccumulationSteps, long totalSteps, double maxGradNorm, LrSchedule schedule,
                           int saveSteps, int saveTotalLimit, int loggingSteps, long seed, Path outputDir,
                           HiggsAudioLoss.Options loss, Device device, int maxNonFiniteInARow, boolean gradientCheckpointing) {
        /** Without gradient checkpointing. */
        public Settings(int gradientAccumulationSteps, long totalSteps, double maxGradNorm, LrSchedule schedule,
                        int saveSteps, int saveTotalLimit, int loggingSteps, long seed, Path outputDir,
                        HiggsAudioLoss.Options loss, Device device, int maxNonFiniteInARow) {
            this(gradientAccumulationSteps, totalSteps, maxGradNorm, schedule, saveSteps, saveTotalLimit, loggingSteps, seed,
                    outputDir, loss, device, maxNonFiniteInARow, false);
        }
    }

    /** How a run ended; earlyStopped when evaluations stopped improving for the patience given. */
    public record Result(long steps, List<StepMetrics> history, Path lastCheckpoint, boolean interrupted,
                         List<EvalMetrics> evalHistory, boolean earlyStopped) {}

    private final HiggsAudioModel model;
    private final Trained trained;
    private final AdamW optimizer;
    private final BatchSource data;
    private final Settings s;
    private final Progress progress;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final ProcessGroup group;
    private long bucketBytes = GradientBuckets.DEFAULT_BUCKET_BYTES;

    public Trainer(HiggsAudioModel model, LoraModel lora, AdamW optimizer, BatchSource data, Settings settings, Progress progress) {
        this(model, Trained.lora(lora), optimizer, data, settings, progress, ProcessGroups.single());
    }

    /** A data-parallel rank of group, training LoRA. */
    public Trainer(HiggsAudioModel model, LoraModel lora, AdamW optimizer, BatchSource data, Settings settings, Progress progress,
                   ProcessGroup group) {
        this(model, Trained.lora(lora), optimizer, data, settings, progress, group);
    }

    /** A data-parallel rank of group; data must be this rank's share of the batches. */
    public Trainer(HiggsAudioModel model, Trained trained, AdamW optimizer, BatchSource data, Settings settings, Progress progress,
                   ProcessGroup group) {
        this.group = group;
        this.model = model;
        this.trained = trained;
        this.optimizer = optimizer;
        this.data = data;
        this.s = settings;
        this.progress = progress;
    }

    /** Asks the loop to save a checkpoint and return after the step in flight (Ctrl-C does this). */
    public void requestStop() {
        stop.set(true);
    }

    private long stopAtStep = Long.MAX_VALUE;

    /** Stops (saving a checkpoint) once this many steps are done, as an interruption at that point would. */
    public Trainer stopAtStep(long step) {
        stopAtStep = step;
        return this;
    }

    /** Told on the main rank after every optimizer step (finished false), and once when the run ends (finished true). */
    @FunctionalInterface
    public interface StepListener {
        void afterStep(long step, boolean finished) throws IOException;
    }

    private StepListener listener;
    private Evaluation evaluation;
    private int evalEvery, patience;

    /**
     * Evaluates on held-out data every evalEvery steps and at the end (each rank its share), appends the metrics to
     * metrics.jsonl, keeps the best by eval_loss in best/, and with patience > 0 stops after that many evaluations
     * without improvement.
     */
    public Trainer evaluation(Evaluation evaluation, int evalEvery, int patience) {
        if (evalEvery < 1) throw new IllegalArgumentException("--eval_steps must be >= 1, got " + evalEvery);
        if (patience < 0) throw new IllegalArgumentException("--early_stopping_patience must be >= 0, got " + patience);
        this.evaluation = evaluation;
        this.evalEvery = evalEvery;
        this.patience = patience;
        return this;
    }

    /** Calls listener after each step on the main rank (the other ranks wait for it at the next step's all-reduce). */
    public Trainer onStep(StepListener listener) {
        this.listener = listener;
        return this;
    }

    /** The largest gradient bucket all-reduced at once (25 MiB by default). */
    public Trainer bucketBytes(long bytes) {
        bucketBytes = bytes;
        return this;
    }

    public Result run(Path resumeFrom) throws IOException {
        if (group.worldSize() == 1) return loop(resumeFrom);
        try {
            return loop(resumeFrom);
        } catch (IOException | RuntimeException | Error e) {
            group.abort("rank " + group.rank() + " failed: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            throw e;
        }
    }

    private Result loop(Path resumeFrom) throws IOException {
        final int world = group.worldSize(), rank = group.rank();
        final boolean main = group.isMain();
        TrainerState state = new TrainerState(0, 0, 0, 0, s.seed(), s.totalSteps(), 0);
        if (resumeFrom != null) state = resume(resumeFrom);
        CheckpointStore store = new CheckpointStore(s.outputDir(), s.saveTotalLimit());
        Map<String, Tensor> trainable = trained.parameters();
        model.train(true);
        if (world > 1) group.broadcast(List.copyOf(trainable.values()), 0);
        Path lastCheckpoint = resumeFrom;
        long lastSavedStep = resumeFrom == null ? -1 : state.globalStep();
        int nonFiniteInARow = 0;
        EvalState evalState = resumeFrom == null ? EvalState.NONE : EvalState.read(resumeFrom);
        boolean earlyStopped = false;
        try (MetricsLog metrics = main ? new MetricsLog(s.outputDir().resolve("metrics.jsonl"), state.globalStep()) : MetricsLog.inMemory()) {
            if (main) progress.start(state.globalStep(), s.totalSteps());
            // With several ranks, a stop (Ctrl-C on any rank) is agreed on in the step's all-reduce, so all stop together.
            boolean stopping = false;
            while (state.globalStep() < s.totalSteps() && !(world > 1 ? stopping : stop.get())) {
                long t0 = System.nanoTime();
                int epoch = state.epoch(), index = state.batchIndex();
                long micro = state.microStep(), tokens = 0;
                double loss = 0, text = 0, audio = 0;
                double[] codebooks = null;
                boolean finite = true;
                for (int a = 0; a < s.gradientAccumulationSteps(); a++) {
                    if (index >= data.batchesPerEpoch()) {
                        epoch++;
                        index = 0;
                    }
                    BatchSource.Batch b = data.batch(epoch, index++);
                    // micro * world + rank: the global index of this micro-batch (just micro in one process)
                    Torch.manualSeed(s.seed() * 1_000_003L + micro * world + rank);
                    micro++;
                    try (Scope step = Scope.open()) {
                        HiggsAudioBatch batch = onDevice(b.batch());
                        // forward, loss and backward at once (the heads only where there are labels): a non-finite
                        // loss leaves non-finite gradients, which the skipped step below drops
                        HiggsAudioLoss.Result r = TrainingPass.run(model, batch, 8,
                                new TrainingPass.Options(s.loss(), s.gradientCheckpointing(), 1.0 / s.gradientAccumulationSteps()));
                        float[] read = readBack(r);
                        double value = read[0];
                        if (!Double.isFinite(value)) {
                            finite = false;
                            if (world > 1) {
                                // the other ranks go on through this step's micro-batches: stay at their position
                                for (int rest = a + 1; rest < s.gradientAccumulationSteps(); rest++) {
                                    if (index >= data.batchesPerEpoch()) {
                                        epoch++;
                                        index = 0;
                                    }
                                    index++;
                                    micro++;
                                }
                            }
                            break;
                        }
                        loss += value / s.gradientAccumulationSteps();
                        text += read[1] / s.gradientAccumulationSteps();
                        audio += read[2] / s.gradientAccumulationSteps();
                        if (codebooks == null) codebooks = new double[read.length - 3];
                        for (int k = 0; k < codebooks.length; k++) codebooks[k] += read[3 + k] / (double) s.gradientAccumulationSteps();
                        tokens += b.tokens();
                    }
                }
                if (world > 1) {
                    // every rank must agree on skipping a step, and logs the mean over the ranks
                    double[] mean = group.allReduceMean(new double[] {finite ? 1 : 0, loss, text, audio, tokens, stop.get() ? 1 : 0});
                    finite = mean[0] == 1.0;
                    if (mean[5] > 0) {
                        stopping = true;
                        stop.set(true);
                    }
                    if (finite) {
                        loss = mean[1];
                        text = mean[2];
                        audio = mean[3];
                        tokens = Math.round(mean[4] * world);
                        codebooks = group.allReduceMean(codebooks);
                    }
                }
                if (!finite) {
                    optimizer.zeroGrad();
                    nonFiniteInARow++;
                    LOG.warn("step {}: non-finite loss, step skipped ({} in a row)", state.globalStep() + 1, nonFiniteInARow);
                    state = new TrainerState(state.globalStep(), epoch, index, micro, s.seed(), s.totalSteps(), state.tokensSeen());
                    if (nonFiniteInARow >= s.maxNonFiniteInARow()) {
                        throw new IllegalStateException(nonFiniteInARow + " non-finite losses in a row at step " + (state.globalStep() + 1)
                                + ": stopping (lower --learning_rate, or check the data)");
                    }
                    continue;
                }
                nonFiniteInARow = 0;
                if (world > 1) GradientBuckets.allReduceMean(group, trainable.values(), bucketBytes);
                double gradNorm = GradClip.clip(trainable.values(), s.maxGradNorm());
                double lr = s.schedule().lr(state.globalStep());
                optimizer.setLr(lr);
                optimizer.step();
                optimizer.zeroGrad();
                double seconds = (System.nanoTime() - t0) / 1e9;
                state = new TrainerState(state.globalStep() + 1, epoch, index, micro, s.seed(), s.totalSteps(), state.tokensSeen() + tokens);
                StepMetrics m = new StepMetrics(state.globalStep(), loss, text, audio, codebooks == null ? new double[0] : codebooks,
                        lr, gradNorm, tokens / seconds, Memory.bytesInUse(s.device()), seconds);
                metrics.write(m);
                if (main) progress.step(m, s.loggingSteps());
                if (evaluation != null && state.globalStep() % evalEvery == 0) {
                    evalState = evaluate(metrics, store, state, evalState);
                    earlyStopped = patience > 0 && evalState.sinceBest() >= patience;
                }
                if (s.saveSteps() > 0 && state.globalStep() % s.saveSteps() == 0) {
                    if (main) lastCheckpoint = save(store, state, evalState);
                    lastSavedStep = state.globalStep();
                }
                if (main && listener != null) listener.afterStep(state.globalStep(), false);
                if (state.globalStep() >= stopAtStep) {
                    stop.set(true);
                    stopping = true;
                }
                if (earlyStopped) {
                    LOG.info("early stopping at step {}: {} evaluations without improvement (best eval_loss {} at step {})",
                            state.globalStep(), evalState.sinceBest(), evalState.bestLoss(), evalState.bestStep());
                    break;
                }
            }
            if (evaluation != null && !stop.get() && state.globalStep() > 0 && evalState.lastEvalStep() != state.globalStep()) {
                evalState = evaluate(metrics, store, state, evalState);
            }
            // saveSteps < 0: no checkpoint at all (benchmarks); otherwise the last step is always saved.
            if (s.saveSteps() >= 0 && state.globalStep() != lastSavedStep && state.globalStep() > 0 && main) lastCheckpoint = save(store, state, evalState);
            if (main && listener != null && state.globalStep() > 0) listener.afterStep(state.globalStep(), true);
            if (main) progress.finish(stop.get());
            return new Result(state.globalStep(), metrics.history(), lastCheckpoint, stop.get(), metrics.evalHistory(), earlyStopped);
        }
    }

    /** total, text, audio, then the per-codebook losses: one read back (one device sync) per micro-batch, not four. */
    private static float[] readBack(HiggsAudioLoss.Result r) {
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            return Tensor.cat(List.of(r.total().reshape(1), r.text().reshape(1), r.audio().reshape(1), r.codebookLosses()), 0).toFloatArray();
        }
    }

    private HiggsAudioBatch onDevice(HiggsAudioBatch b) {
        if (s.device().type() == Device.Type.CPU) return b;
        return b.to(s.device());
    }

    /** checkpoint-N: the PEFT adapter, the optimizer state, trainer_state.json and eval_state.json, written atomically. */
    private Path save(CheckpointStore store, TrainerState state, EvalState evalState) throws IOException {
        Path p = store.save(state.globalStep(), dir -> fill(dir, state, evalState));
        LOG.info("saved {}", p);
        return p;
    }

    private void fill(Path dir, TrainerState state, EvalState evalState) throws IOException {
        trained.save(dir);
        SafetensorsWriter.write(dir.resolve(OPTIMIZER_FILE), optimizer.stateDict(), Map.of("step", Long.toString(optimizer.stepCount())));
        state.write(dir);
        evalState.write(dir);
    }

    /** One evaluation on every rank; on the main rank its record, its log line and, when it is the best, best/. */
    private EvalState evaluate(MetricsLog metrics, CheckpointStore store, TrainerState state, EvalState before) throws IOException {
        long t0 = System.nanoTime();
        EvalMetrics e = evaluation.evaluate(model, state.globalStep(), s.device(), group);
        EvalState after = before.after(state.globalStep(), e.loss());
        metrics.writeEval(e);
        if (group.isMain()) {
            double accuracy = java.util.Arrays.stream(e.codebookAccuracy()).average().orElse(0);
            LOG.info(String.format(java.util.Locale.ROOT, "eval at step %d: loss %.4f (text %.4f, audio %.4f), audio top-1 accuracy %.3f "
                            + "over %d text and %d audio targets (%.1f s)%s", e.step(), e.loss(), e.textLoss(), e.audioLoss(), accuracy,
                    e.textTargets(), e.audioTargets(), (System.nanoTime() - t0) / 1e9,
                    after.improvedAt(e.step()) ? "; new best" : String.format(java.util.Locale.ROOT, "; best %.4f at step %d (%d since)",
                            after.bestLoss(), after.bestStep(), after.sinceBest())));
            if (after.improvedAt(e.step())) store.saveBest(dir -> fill(dir, state, after));
        }
        return after;
    }

    private TrainerState resume(Path checkpoint) throws IOException {
        TrainerState st = TrainerState.read(checkpoint);
        if (st.seed() != s.seed()) {
            throw new IllegalArgumentException("--seed " + s.seed() + " differs from the checkpoint's " + st.seed()
                    + ": a resumed run must use the same seed");
        }
        trained.load(checkpoint);
        Path opt = checkpoint.resolve(OPTIMIZER_FILE);
        if (!Files.isRegularFile(opt)) throw new IllegalArgumentException(checkpoint + " has no " + OPTIMIZER_FILE);
        try (SafetensorsFile f = SafetensorsFile.open(opt); Scope sc = Scope.open()) {
            optimizer.loadStateDict(name -> f.contains(name) ? f.load(name) : null,
                    Long.parseLong(f.metadata().getOrDefault("step", Long.toString(st.globalStep()))));
        }
        LOG.info("resumed from {} at step {} (epoch {}, batch {})", checkpoint, st.globalStep(), st.epoch(), st.batchIndex());
        return st;
    }
}
