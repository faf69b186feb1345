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
    private TrainingArgs args;

    /** Writes args into every checkpoint ({@link TrainingArgs#FILE}), for a resumed run to compare itself with. */
    public Trainer recordArgs(TrainingArgs args) {
        this.args = args;
        return this;
    }

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
        TrainerState start = resumeFrom == null ? new TrainerState(0, 0, 0, 0, s.seed(), s.totalSteps(), 0) : resume(resumeFrom);
        Loop run = new Loop(new Cursor(start), resumeFrom);
        model.train(true);
        if (group.worldSize() > 1) group.broadcast(List.copyOf(run.trainable.values()), 0);
        if (resumeFrom != null) run.evalState = EvalState.read(resumeFrom);
        try (MetricsLog metrics = group.isMain() ? new MetricsLog(s.outputDir().resolve("metrics.jsonl"), start.globalStep())
                : MetricsLog.inMemory()) {
            run.metrics = metrics;
            return run.run();
        }
    }

    /** One step's micro-batches: their losses (each divided by the accumulation), their tokens, and whether all were finite. */
    private static final class Accumulated {
        double loss, text, audio;
        double[] codebooks;
        long tokens;
        boolean finite = true;

        /** read: total, text, audio, then per-codebook losses of one of steps micro-batches. */
        void add(float[] read, long batchTokens, int steps) {
            loss += (double) read[0] / steps;
            text += read[1] / steps;
            audio += read[2] / steps;
            if (codebooks == null) codebooks = new double[read.length - 3];
            for (int k = 0; k < codebooks.length; k++) codebooks[k] += read[3 + k] / (double) steps;
            tokens += batchTokens;
        }
    }

    /** One run of the loop: the cursor, and what the steps share (metrics, checkpoints, evaluation, stopping). */
    private final class Loop {
        final Cursor cursor;
        final CheckpointStore store = new CheckpointStore(s.outputDir(), s.saveTotalLimit());
        final Map<String, Tensor> trainable = trained.parameters();
        final int world = group.worldSize();
        final boolean main = group.isMain();
        MetricsLog metrics;
        Path lastCheckpoint;
        long lastSavedStep;
        EvalState evalState = EvalState.NONE;
        int nonFiniteInARow;
        boolean earlyStopped;
        // With several ranks, a stop (Ctrl-C on any rank) is agreed on in the step's all-reduce, so all stop together.
        boolean stopping;

        Loop(Cursor cursor, Path resumedFrom) {
            this.cursor = cursor;
            lastCheckpoint = resumedFrom;
            lastSavedStep = resumedFrom == null ? -1 : cursor.step();
        }

        TrainerState state() {
            return cursor.state(s.seed(), s.totalSteps());
        }

        Result run() throws IOException {
            if (main) progress.start(cursor.step(), s.totalSteps());
            while (cursor.step() < s.totalSteps() && !(world > 1 ? stopping : stop.get())) {
                long t0 = System.nanoTime();
                Accumulated acc = accumulate();
                if (world > 1) agree(acc);
                if (!acc.finite) {
                    skip();
                    continue;
                }
                nonFiniteInARow = 0;
                StepMetrics m = optimizerStep(acc, t0);
                afterStep(m);
                if (earlyStopped) {
                    LOG.info("early stopping at step {}: {} evaluations without improvement (best eval_loss {} at step {})",
                            cursor.step(), evalState.sinceBest(), evalState.bestLoss(), evalState.bestStep());
                    break;
                }
            }
            return finish();
        }

        /** The step's micro-batches, forward and backward; a non-finite loss ends the step early. */
        Accumulated accumulate() {
            Accumulated acc = new Accumulated();
            int steps = s.gradientAccumulationSteps();
            for (int a = 0; a < steps; a++) {
                Cursor.Micro at = cursor.take(data.batchesPerEpoch());
                BatchSource.Batch b = data.batch(at.epoch(), at.index());
                float[] read = microStep(b.batch(), at.micro());
                if (read == null) {
                    acc.finite = false;
                    // the other ranks go on through this step's micro-batches: stay at their position
                    if (world > 1) for (int rest = a + 1; rest < steps; rest++) cursor.take(data.batchesPerEpoch());
                    break;
                }
                acc.add(read, b.tokens(), steps);
            }
            return acc;
        }

        /**
         * One micro-batch: forward, loss and backward at once (the heads only where there are labels), the gradients
         * adding up; its losses read back, or null when the loss is not finite (its non-finite gradients are then
         * dropped with the skipped step).
         */
        float[] microStep(HiggsAudioBatch cpuBatch, long micro) {
            // micro * world + rank: the global index of this micro-batch (just micro in one process)
            Torch.manualSeed(s.seed() * 1_000_003L + micro * world + group.rank());
            try (Scope step = Scope.open()) {
                // the batch stays on the CPU: the model reads its ids there and sends what it computes with to its device
                HiggsAudioLoss.Result r = TrainingPass.run(model, cpuBatch, 8,
                        new TrainingPass.Options(s.loss(), s.gradientCheckpointing(), 1.0 / s.gradientAccumulationSteps()));
                float[] read = readBack(r);
                return Double.isFinite(read[0]) ? read : null;
            }
        }

        /** Every rank must agree on skipping a step and on stopping, and logs the mean over the ranks. */
        void agree(Accumulated acc) {
            double[] mean = group.allReduceMean(new double[] {acc.finite ? 1 : 0, acc.loss, acc.text, acc.audio, acc.tokens, stop.get() ? 1 : 0});
            acc.finite = mean[0] == 1.0;
            if (mean[5] > 0) {
                stopping = true;
                stop.set(true);
            }
            if (acc.finite) {
                acc.loss = mean[1];
                acc.text = mean[2];
                acc.audio = mean[3];
                acc.tokens = Math.round(mean[4] * world);
                acc.codebooks = group.allReduceMean(acc.codebooks);
            }
        }

        /** A step with a non-finite loss: its gradients dropped, the data position kept; too many in a row stop the run. */
        void skip() {
            optimizer.zeroGrad();
            nonFiniteInARow++;
            LOG.warn("step {}: non-finite loss, step skipped ({} in a row)", cursor.step() + 1, nonFiniteInARow);
            if (nonFiniteInARow >= s.maxNonFiniteInARow()) {
                throw new IllegalStateException(nonFiniteInARow + " non-finite losses in a row at step " + (cursor.step() + 1)
                        + ": stopping (lower --learning_rate, or check the data)");
            }
        }

        /** The gradients averaged over the ranks and clipped, one AdamW step at the schedule's rate; the step's metrics. */
        StepMetrics optimizerStep(Accumulated acc, long t0) {
            if (world > 1) GradientBuckets.allReduceMean(group, trainable.values(), bucketBytes);
            double gradNorm = GradClip.clip(trainable.values(), s.maxGradNorm());
            double lr = s.schedule().lr(cursor.step());
            optimizer.setLr(lr);
            optimizer.step();
            optimizer.zeroGrad();
            double seconds = (System.nanoTime() - t0) / 1e9;
            cursor.stepDone(acc.tokens);
            return new StepMetrics(cursor.step(), acc.loss, acc.text, acc.audio, acc.codebooks == null ? new double[0] : acc.codebooks,
                    lr, gradNorm, acc.tokens / seconds, Memory.bytesInUse(s.device()), seconds);
        }

        /** After a step: its metrics and progress line, then evaluation, a checkpoint and the listener when due. */
        void afterStep(StepMetrics m) throws IOException {
            metrics.write(m);
            if (main) progress.step(m, s.loggingSteps());
            long step = cursor.step();
            if (evaluation != null && step % evalEvery == 0) {
                evalState = evaluate(metrics, store, state(), evalState);
                earlyStopped = patience > 0 && evalState.sinceBest() >= patience;
            }
            if (s.saveSteps() > 0 && step % s.saveSteps() == 0) checkpoint();
            if (main && listener != null) listener.afterStep(step, false);
            if (step >= stopAtStep) {
                stop.set(true);
                stopping = true;
            }
        }

        /** Rank 0 saves; every rank records the step as saved, so that none saves it again at the end. */
        void checkpoint() throws IOException {
            if (main) lastCheckpoint = save(store, state(), evalState);
            lastSavedStep = cursor.step();
        }

        /** The end of the run: a last evaluation and checkpoint unless the last step had them. */
        Result finish() throws IOException {
            long step = cursor.step();
            if (evaluation != null && !stop.get() && step > 0 && evalState.lastEvalStep() != step) {
                evalState = evaluate(metrics, store, state(), evalState);
            }
            // saveSteps < 0: no checkpoint at all (benchmarks); otherwise the last step is always saved.
            if (s.saveSteps() >= 0 && step != lastSavedStep && step > 0 && main) lastCheckpoint = save(store, state(), evalState);
            if (main && listener != null && step > 0) listener.afterStep(step, true);
            if (main) progress.finish(stop.get());
            return new Result(step, metrics.history(), lastCheckpoint, stop.get(), metrics.evalHistory(), earlyStopped);
        }
    }

    /** total, text, audio, then the per-codebook losses: one read back (one device sync) per micro-batch, not four. */
    private static float[] readBack(HiggsAudioLoss.Result r) {
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            return Tensor.cat(List.of(r.total().reshape(1), r.text().reshape(1), r.audio().reshape(1), r.codebookLosses()), 0).toFloatArray();
        }
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
        if (args != null) args.write(dir);
    }

    /** One evaluation on every rank; on the main rank its record, its log line and, when it is the best, best/. */
    private EvalState evaluate(MetricsLog metrics, CheckpointStore store, TrainerState state, EvalState before) throws IOException {
        long t0 = System.nanoTime();
        EvalMetrics e = evaluation.evaluate(model, state.globalStep(), group);
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
