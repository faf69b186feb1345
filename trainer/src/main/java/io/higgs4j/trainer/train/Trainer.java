package io.higgs4j.trainer.train;

import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioLoss;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.optim.AdamW;
import io.higgs4j.safetensors.SafetensorsFile;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.Device;
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
 */
public final class Trainer {

    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";

    public record Settings(int gradientAccumulationSteps, long totalSteps, double maxGradNorm, LrSchedule schedule,
                           int saveSteps, int saveTotalLimit, int loggingSteps, long seed, Path outputDir,
                           HiggsAudioLoss.Options loss, Device device, int maxNonFiniteInARow) {}

    /** How a run ended. */
    public record Result(long steps, List<StepMetrics> history, Path lastCheckpoint, boolean interrupted) {}

    private final HiggsAudioModel model;
    private final LoraModel lora;
    private final AdamW optimizer;
    private final BatchSource data;
    private final Settings s;
    private final Progress progress;
    private final AtomicBoolean stop = new AtomicBoolean();

    public Trainer(HiggsAudioModel model, LoraModel lora, AdamW optimizer, BatchSource data, Settings settings, Progress progress) {
        this.model = model;
        this.lora = lora;
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

    public Result run(Path resumeFrom) throws IOException {
        TrainerState state = new TrainerState(0, 0, 0, 0, s.seed(), s.totalSteps(), 0);
        if (resumeFrom != null) state = resume(resumeFrom);
        CheckpointStore store = new CheckpointStore(s.outputDir(), s.saveTotalLimit());
        Map<String, Tensor> trainable = lora.trainableParameters();
        model.train(true);
        Path lastCheckpoint = resumeFrom;
        long lastSavedStep = resumeFrom == null ? -1 : state.globalStep();
        int nonFiniteInARow = 0;
        try (MetricsLog metrics = new MetricsLog(s.outputDir().resolve("metrics.jsonl"), state.globalStep())) {
            progress.start(state.globalStep(), s.totalSteps());
            while (state.globalStep() < s.totalSteps() && !stop.get()) {
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
                    Torch.manualSeed(s.seed() * 1_000_003L + micro++);
                    try (Scope step = Scope.open()) {
                        HiggsAudioBatch batch = onDevice(b.batch());
                        HiggsAudioModel.Output out = model.forward(batch, 8);
                        HiggsAudioLoss.Result r = HiggsAudioLoss.compute(out.logits(), out.expandedLabels(), out.audioLogits(),
                                batch.labelAudioIds(), s.loss());
                        double value = r.total().item();
                        if (!Double.isFinite(value)) {
                            finite = false;
                            break;
                        }
                        r.total().div(s.gradientAccumulationSteps()).backward();
                        loss += value / s.gradientAccumulationSteps();
                        text += r.text().item() / s.gradientAccumulationSteps();
                        audio += r.audio().item() / s.gradientAccumulationSteps();
                        float[] cb = r.codebookLosses().toFloatArray();
                        if (codebooks == null) codebooks = new double[cb.length];
                        for (int k = 0; k < cb.length; k++) codebooks[k] += cb[k] / (double) s.gradientAccumulationSteps();
                        tokens += b.tokens();
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
                progress.step(m, s.loggingSteps());
                if (s.saveSteps() > 0 && state.globalStep() % s.saveSteps() == 0) {
                    lastCheckpoint = save(store, state);
                    lastSavedStep = state.globalStep();
                }
                if (state.globalStep() >= stopAtStep) stop.set(true);
            }
            // saveSteps < 0: no checkpoint at all (benchmarks); otherwise the last step is always saved.
            if (s.saveSteps() >= 0 && state.globalStep() != lastSavedStep && state.globalStep() > 0) lastCheckpoint = save(store, state);
            progress.finish(stop.get());
            return new Result(state.globalStep(), metrics.history(), lastCheckpoint, stop.get());
        }
    }

    private HiggsAudioBatch onDevice(HiggsAudioBatch b) {
        if (s.device().type() == Device.Type.CPU) return b;
        return new HiggsAudioBatch(to(b.inputIds()), to(b.attentionMask()), to(b.audioInIds()), to(b.audioInIdsStart()),
                to(b.audioOutIds()), to(b.audioOutIdsStart()), to(b.labelIds()), to(b.labelAudioIds()),
                to(b.audioFeatures()), to(b.audioFeatureAttentionMask()));
    }

    private Tensor to(Tensor t) {
        return t == null ? null : t.to(s.device());
    }

    /** checkpoint-N: the PEFT adapter, the optimizer state and trainer_state.json, written atomically. */
    private Path save(CheckpointStore store, TrainerState state) throws IOException {
        Path p = store.save(state.globalStep(), dir -> {
            lora.save(dir);
            SafetensorsWriter.write(dir.resolve(OPTIMIZER_FILE), optimizer.stateDict(), Map.of("step", Long.toString(optimizer.stepCount())));
            state.write(dir);
        });
        LOG.info("saved {}", p);
        return p;
    }

    private TrainerState resume(Path checkpoint) throws IOException {
        TrainerState st = TrainerState.read(checkpoint);
        if (st.seed() != s.seed()) {
            throw new IllegalArgumentException("--seed " + s.seed() + " differs from the checkpoint's " + st.seed()
                    + ": a resumed run must use the same seed");
        }
        lora.loadWeights(checkpoint.resolve(LoraModel.ADAPTER_FILE));
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
