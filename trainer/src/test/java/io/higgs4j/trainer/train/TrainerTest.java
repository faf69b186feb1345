package io.higgs4j.trainer.train;

import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioLoss;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.optim.AdamW;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import io.higgs4j.trainer.data.BatchSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

public class TrainerTest {

    /** Batches of two rows whose audio codes repeat a pattern: learnable, and the same for the same (epoch, index). */
    public static final class PatternBatches implements BatchSource {
        @Override public int batchesPerEpoch() { return 4; }

        @Override public Batch batch(int epoch, int index) {
            Random r = new Random(1000L * epoch + index);
            int t = 6;
            long[] ids = new long[2 * 6], mask = new long[ids.length], labels = new long[ids.length];
            long[] codes = new long[8 * 2 * t], audioLabels = new long[codes.length];
            for (int row = 0; row < 2; row++) {
                long[] words = {10 + r.nextInt(5), 20, 1016, 30, 31, 32};
                for (int i = 0; i < 6; i++) {
                    ids[row * 6 + i] = words[i];
                    mask[row * 6 + i] = 1;
                    labels[row * 6 + i] = i == 2 ? -100 : words[i];
                }
            }
            for (int k = 0; k < 8; k++) {
                for (int j = 0; j < 2 * t; j++) {
                    codes[k * 2 * t + j] = (7L * k + 3L * (j % t)) % 1024;
                    audioLabels[k * 2 * t + j] = j % t == 0 ? -100 : codes[k * 2 * t + j];
                }
            }
            return new Batch(new HiggsAudioBatch(Tensor.of(ids, 2, 6), Tensor.of(mask, 2, 6), null, null,
                    Tensor.of(codes, 8, 2 * t), Tensor.of(new long[] {0, t}), Tensor.of(labels, 2, 6), Tensor.of(audioLabels, 8, 2 * t)),
                    2 * (5 + t));
        }
    }

    static Trainer.Result train(Path out, long totalSteps, int saveSteps, Path resume) throws Exception {
        return train(out, totalSteps, saveSteps, resume, Long.MAX_VALUE);
    }

    static Trainer.Result train(Path out, long totalSteps, int saveSteps, Path resume, long stopAt) throws Exception {
        Torch.manualSeed(3);
        try (HiggsAudioModel model = new HiggsAudioModel(HiggsAudioConfig.preset("tiny"), Init.cpu(DType.FLOAT32));
             LoraModel lora = LoraModel.apply(model, LoraConfig.of(4, 8, 0.1, "comprehensive",
                     List.of("audio_decoder_proj.audio_lm_head")), Init.cpu(DType.FLOAT32));
             AdamW opt = new AdamW(List.copyOf(lora.trainableParameters().values()), AdamW.Options.defaults(5e-3))) {
            var settings = new Trainer.Settings(2, totalSteps, 1.0, new LrSchedule(LrSchedule.Kind.COSINE, 5e-3, 2, totalSteps),
                    saveSteps, 2, 1, 42, out, HiggsAudioLoss.Options.defaults(), Device.CPU, 3);
            Progress quiet = new Progress(false, new PrintStream(new ByteArrayOutputStream()));
            return new Trainer(model, lora, opt, new PatternBatches(), settings, quiet).stopAtStep(stopAt).run(resume);
        }
    }

    @Test
    void lossFallsAndCheckpointsAreComplete(@TempDir Path out) throws Exception {
        Trainer.Result r = train(out, 12, 5, null);
        assertEquals(12, r.steps());
        assertEquals(12, r.history().size());
        assertTrue(r.history().getLast().loss() < r.history().getFirst().loss() * 0.85,
                r.history().getFirst().loss() + " -> " + r.history().getLast().loss());
        CheckpointStore store = new CheckpointStore(out, 2);
        assertEquals(List.of("checkpoint-10", "checkpoint-12"), store.list().stream().map(p -> p.getFileName().toString()).toList(),
                "save_total_limit 2 keeps the newest two; the last step is always saved");
        Path last = store.latest().orElseThrow();
        for (String f : List.of("adapter_model.safetensors", "adapter_config.json", Trainer.OPTIMIZER_FILE, TrainerState.FILE)) {
            assertTrue(Files.exists(last.resolve(f)), f);
        }
        assertEquals(12, Files.readAllLines(out.resolve("metrics.jsonl")).size());
        try (var s = Files.list(out)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary checkpoint left");
        }
    }

    /** On CPU a resumed run repeats the uninterrupted one exactly: same losses, step for step. */
    @Test
    void resumeIsExact(@TempDir Path dir) throws Exception {
        List<StepMetrics> straight = train(dir.resolve("straight"), 8, 4, null).history();
        Path partial = dir.resolve("partial");
        Trainer.Result interrupted = train(partial, 8, 4, null, 3); // stops after step 3, as an interruption would
        assertTrue(interrupted.interrupted());
        assertEquals(3, interrupted.steps());
        assertTrue(Files.isDirectory(partial.resolve("checkpoint-3")), "stopping saves a checkpoint");
        train(partial, 8, 4, partial.resolve("checkpoint-3"), 4);
        List<StepMetrics> resumed = train(partial, 8, 4, partial.resolve("checkpoint-4")).history();
        assertEquals(8, resumed.size(), "metrics.jsonl holds the whole run after the resume");
        for (int i = 0; i < 8; i++) {
            assertEquals(straight.get(i).loss(), resumed.get(i).loss(), 0.0, "loss of step " + (i + 1));
            assertEquals(straight.get(i).gradNorm(), resumed.get(i).gradNorm(), 0.0, "grad norm of step " + (i + 1));
        }
    }

    /** bf16 base with float32 adapters and heads: trains, and the trainable weights stay float32. */
    @Test
    void mixedPrecisionTrains(@TempDir Path out) throws Exception {
        Torch.manualSeed(3);
        try (HiggsAudioModel model = new HiggsAudioModel(HiggsAudioConfig.preset("tiny"), Init.cpu(DType.BFLOAT16));
             LoraModel lora = LoraModel.apply(model, LoraConfig.of(4, 8, 0.0, "comprehensive",
                     List.of("audio_decoder_proj.audio_lm_head", "audio_codebook_embeddings")), Init.cpu(DType.FLOAT32));
             AdamW opt = new AdamW(List.copyOf(lora.trainableParameters().values()), AdamW.Options.defaults(5e-3))) {
            for (Tensor t : lora.trainableParameters().values()) assertEquals(DType.FLOAT32, t.dtype());
            assertEquals(DType.BFLOAT16, model.layers.get(0).selfAttn.qProj.weight().dtype());
            var settings = new Trainer.Settings(1, 10, 1.0, new LrSchedule(LrSchedule.Kind.CONSTANT, 5e-3, 0, 10),
                    0, 1, 1, 42, out, HiggsAudioLoss.Options.defaults(), Device.CPU, 3);
            var r = new Trainer(model, lora, opt, new PatternBatches(), settings, new Progress(false, new PrintStream(new ByteArrayOutputStream()))).run(null);
            assertTrue(r.history().getLast().loss() < r.history().getFirst().loss(), r.history().getFirst().loss() + " -> " + r.history().getLast().loss());
            for (StepMetrics m : r.history()) assertTrue(Double.isFinite(m.loss()));
        }
    }

    /** Non-finite losses skip the step; too many in a row stop the run with a message, and no update is applied. */
    @Test
    void nonFiniteLossesStopTheRun(@TempDir Path out) throws Exception {
        Torch.manualSeed(3);
        try (HiggsAudioModel model = new HiggsAudioModel(HiggsAudioConfig.preset("tiny"), Init.cpu(DType.FLOAT32));
             LoraModel lora = LoraModel.apply(model, LoraConfig.of(4, 8, 0.0, "attention", List.of()), Init.cpu(DType.FLOAT32));
             AdamW opt = new AdamW(List.copyOf(lora.trainableParameters().values()), AdamW.Options.defaults(5e-3))) {
            try (var g = Torch.noGrad()) {
                model.norm.weight().fill_(Double.NaN);
            }
            float[] before = lora.trainableParameters().values().iterator().next().toFloatArray();
            var settings = new Trainer.Settings(1, 10, 1.0, new LrSchedule(LrSchedule.Kind.CONSTANT, 5e-3, 0, 10),
                    0, 1, 1, 42, out, HiggsAudioLoss.Options.defaults(), Device.CPU, 3);
            var e = assertThrows(IllegalStateException.class, () -> new Trainer(model, lora, opt, new PatternBatches(), settings,
                    new Progress(false, new PrintStream(new ByteArrayOutputStream()))).run(null));
            assertTrue(e.getMessage().contains("3 non-finite losses in a row"), e.getMessage());
            assertArrayEquals(before, lora.trainableParameters().values().iterator().next().toFloatArray(), "no update applied");
            assertEquals(0, Files.readAllLines(out.resolve("metrics.jsonl")).size());
        }
    }

    @Test
    void schedules() {
        LrSchedule cos = new LrSchedule(LrSchedule.Kind.COSINE, 1.0, 10, 110);
        assertEquals(0.0, cos.lr(0));
        assertEquals(0.5, cos.lr(5), 1e-12);
        assertEquals(1.0, cos.lr(10), 1e-12);
        assertEquals(0.5, cos.lr(60), 1e-12);
        assertEquals(0.0, cos.lr(110), 1e-12);
        LrSchedule lin = new LrSchedule(LrSchedule.Kind.LINEAR, 2.0, 0, 4);
        assertEquals(2.0, lin.lr(0));
        assertEquals(1.0, lin.lr(2), 1e-12);
        assertEquals(2.0, new LrSchedule(LrSchedule.Kind.CONSTANT, 2.0, 0, 4).lr(3));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.Kind.parse("exp"));
    }
}
