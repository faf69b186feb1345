package io.higgs4j.trainer.dist;

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
import io.higgs4j.trainer.data.ShardedBatches;
import io.higgs4j.trainer.train.LrSchedule;
import io.higgs4j.trainer.train.Progress;
import io.higgs4j.trainer.train.StepMetrics;
import io.higgs4j.trainer.train.Trainer;
import io.higgs4j.trainer.train.TrainerTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Two data-parallel ranks (threads of this JVM, over loopback TCP) against one process: world 2 x accumulation 1 x
 * 2-row batches per rank must equal one process with gradient accumulation 2 over the same global batches (global
 * batch g goes to rank g mod 2). Dropout 0, so the per-process RNG that two threads share plays no part.
 */
class DataParallelTrainerTest {

    static final long STEPS = 4;
    static final Object INIT = new Object(); // the RNG is per process: the two ranks build their models one at a time

    record Run(Map<String, float[]> weights, List<StepMetrics> history) {}

    static Run train(Path out, ProcessGroup group, BatchSource data, int accumulation) throws Exception {
        HiggsAudioModel model;
        LoraModel lora;
        synchronized (INIT) {
            Torch.manualSeed(3);
            model = new HiggsAudioModel(HiggsAudioConfig.preset("tiny"), Init.cpu(DType.FLOAT32));
            lora = LoraModel.apply(model, LoraConfig.of(4, 8, 0.0, "comprehensive", List.of("audio_decoder_proj.audio_lm_head")),
                    Init.cpu(DType.FLOAT32));
            if (group.rank() == 1) {
                // a different start on rank 1: the broadcast from rank 0 must fix it
                try (var g = Torch.noGrad()) {
                    for (Tensor t : lora.trainableParameters().values()) t.fill_(0.5);
                }
            }
        }
        try (model; lora; AdamW opt = new AdamW(List.copyOf(lora.trainableParameters().values()), AdamW.Options.defaults(5e-3))) {
            var settings = new Trainer.Settings(accumulation, STEPS, 1.0, new LrSchedule(LrSchedule.Kind.CONSTANT, 5e-3, 0, STEPS),
                    0, 1, 1, 42, out, HiggsAudioLoss.Options.defaults(), Device.CPU, 3);
            Progress quiet = new Progress(false, new PrintStream(new ByteArrayOutputStream()));
            Trainer.Result r = new Trainer(model, lora, opt, data, settings, quiet, group).bucketBytes(64 << 10).run(null);
            Map<String, float[]> w = new LinkedHashMap<>();
            lora.trainableParameters().forEach((n, t) -> w.put(n, t.toFloatArray()));
            return new Run(w, r.history());
        }
    }

    @Test
    void twoRanksMatchOneProcessWithAccumulation(@TempDir Path dir) throws Exception {
        int port = TcpProcessGroupTest.freePort();
        List<Object> ranks = TcpProcessGroupTest.ranks(2, rank -> {
            try (TcpProcessGroup g = TcpProcessGroup.connect(rank, 2, "127.0.0.1", port, TcpProcessGroupTest.FAST);
                 ShardedBatches share = ShardedBatches.of(new TrainerTest.PatternBatches(), rank, 2)) {
                return train(dir.resolve("rank" + rank), g, share, 1);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        for (Object o : ranks) if (o instanceof Throwable t) fail(t);
        Run r0 = (Run) ranks.get(0), r1 = (Run) ranks.get(1);
        Run single = train(dir.resolve("single"), ProcessGroups.single(), new TrainerTest.PatternBatches(), 2);

        double maxDiff = 0;
        for (String name : r0.weights().keySet()) {
            float[] a = r0.weights().get(name), b = single.weights().get(name);
            for (int i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
        }
        System.out.println("data parallel vs one process: largest weight difference after " + STEPS + " steps " + maxDiff);
        for (String name : r0.weights().keySet()) {
            assertArrayEquals(r0.weights().get(name), r1.weights().get(name), 0f, "both ranks hold the same " + name);
            float[] a = r0.weights().get(name), b = single.weights().get(name);
            for (int i = 0; i < a.length; i++) {
                assertEquals(b[i], a[i], 1e-4f + 1e-3f * Math.abs(b[i]), name + "[" + i + "]: data parallel vs one process");
            }
        }
        assertEquals(STEPS, r0.history().size());
        for (int i = 0; i < STEPS; i++) {
            assertEquals(r0.history().get(i).loss(), r1.history().get(i).loss(), 0.0, "ranks log the same mean loss");
            assertEquals(single.history().get(i).loss(), r0.history().get(i).loss(), 1e-4, "loss of step " + (i + 1));
            assertEquals(single.history().get(i).gradNorm(), r0.history().get(i).gradNorm(), 1e-4 * (1 + single.history().get(i).gradNorm()));
        }
        assertTrue(r0.history().getLast().loss() < r0.history().getFirst().loss());
        assertEquals(STEPS, Files.readAllLines(dir.resolve("rank0").resolve("metrics.jsonl")).size());
        assertTrue(Files.isDirectory(dir.resolve("rank0").resolve("checkpoint-" + STEPS)), "rank 0 saves");
        assertFalse(Files.exists(dir.resolve("rank1")), "rank 1 writes nothing");
    }
}
