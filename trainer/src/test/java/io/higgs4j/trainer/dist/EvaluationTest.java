package io.higgs4j.trainer.dist;

import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioLoss;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.nn.Init;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Torch;
import io.higgs4j.trainer.data.Collator;
import io.higgs4j.trainer.data.DataValidator;
import io.higgs4j.trainer.data.DemoData;
import io.higgs4j.trainer.data.EncodedSample;
import io.higgs4j.trainer.data.TextTokenizer;
import io.higgs4j.trainer.data.ValidationOptions;
import io.higgs4j.trainer.train.EvalMetrics;
import io.higgs4j.trainer.train.Evaluation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The held-out loss: its definition against the training loss, and data parallelism against one process. */
class EvaluationTest {

    static final HiggsAudioConfig TINY = HiggsAudioConfig.preset("tiny");
    static final Object INIT = new Object();

    static List<EncodedSample> samples(Path dir, int n) throws Exception {
        Path data = DemoData.write(dir, n, 3, 8, 1024, 7);
        try (TextTokenizer tok = TextTokenizer.demo()) {
            return new DataValidator(TINY, tok, ValidationOptions.defaults()).validate(data, null).samples();
        }
    }

    static HiggsAudioModel model() {
        synchronized (INIT) {  // one RNG per process: ranks build their models one at a time
            Torch.manualSeed(9);
            return new HiggsAudioModel(TINY, Init.cpu(DType.FLOAT32));
        }
    }

    static Evaluation evaluation(List<EncodedSample> samples, int batchSize) {
        return new Evaluation(samples, batchSize, new Collator(TINY), HiggsAudioLoss.Options.defaults(), 8);
    }

    @Test
    void oneBatchGivesTheTrainingLossAndBatchingChangesNothing(@TempDir Path dir) throws Exception {
        List<EncodedSample> samples = samples(dir, 5);
        try (HiggsAudioModel m = model(); Scope s = Scope.open(); var g = Torch.noGrad()) {
            EvalMetrics all = evaluation(samples, 5).evaluate(m, 7, ProcessGroups.single());
            HiggsAudioBatch b = new Collator(TINY).collate(samples).toBatch();
            m.train(false);
            HiggsAudioModel.Output out = m.forward(b, 8);
            HiggsAudioLoss.Result loss = HiggsAudioLoss.compute(out.logits(), out.expandedLabels(), out.audioLogits(), b.labelAudioIds());
            assertEquals(7, all.step());
            assertEquals(loss.total().item(), all.loss(), 1e-5);
            assertEquals(loss.text().item(), all.textLoss(), 1e-5);
            assertEquals(loss.audio().item(), all.audioLoss(), 1e-5);
            float[] cb = loss.codebookLosses().toFloatArray();
            for (int k = 0; k < 8; k++) {
                assertEquals(cb[k], all.codebookLosses()[k], 1e-5);
                assertTrue(all.codebookAccuracy()[k] >= 0 && all.codebookAccuracy()[k] <= 1);
            }
            assertTrue(all.textTargets() > 0 && all.audioTargets() > 0);
            EvalMetrics pairs = evaluation(samples, 2).evaluate(m, 7, ProcessGroups.single());
            assertEquals(all.loss(), pairs.loss(), 1e-5, "batches of 2 add up to the one batch");
            assertEquals(all.textTargets(), pairs.textTargets());
            assertEquals(all.audioTargets(), pairs.audioTargets());
            assertArrayEquals(all.codebookAccuracy(), pairs.codebookAccuracy(), 1e-12);
            assertTrue(m.isTraining() == false, "the caller's mode is kept");
        }
    }

    @Test
    void twoRanksGiveWhatOneProcessGives(@TempDir Path dir) throws Exception {
        List<EncodedSample> samples = samples(dir, 5);   // batches of 2: 3 batches, rank 0 takes two, rank 1 one
        int port = TcpProcessGroupTest.freePort();
        List<Object> ranks = TcpProcessGroupTest.ranks(2, rank -> {
            try (TcpProcessGroup group = TcpProcessGroup.connect(rank, 2, "127.0.0.1", port, TcpProcessGroupTest.FAST);
                 HiggsAudioModel m = model()) {
                m.train(true);
                EvalMetrics e = evaluation(samples, 2).evaluate(m, 3, group);
                assertTrue(m.isTraining(), "training mode restored");
                return e;
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        for (Object o : ranks) if (o instanceof Throwable t) fail(t);
        EvalMetrics r0 = (EvalMetrics) ranks.get(0), r1 = (EvalMetrics) ranks.get(1);
        EvalMetrics single;
        try (HiggsAudioModel m = model()) {
            single = evaluation(samples, 2).evaluate(m, 3, ProcessGroups.single());
        }
        assertEquals(r0.loss(), r1.loss(), 0.0, "every rank derives the same metrics");
        assertArrayEquals(r0.codebookLosses(), r1.codebookLosses(), 0.0);
        assertEquals(single.loss(), r0.loss(), 1e-9 * Math.abs(single.loss()));
        assertEquals(single.textLoss(), r0.textLoss(), 1e-9 * Math.abs(single.textLoss()));
        assertArrayEquals(single.codebookLosses(), r0.codebookLosses(), 1e-9 * 10);
        assertArrayEquals(single.codebookAccuracy(), r0.codebookAccuracy(), 0.0);
        assertEquals(single.textTargets(), r0.textTargets());
        assertEquals(single.audioTargets(), r0.audioTargets());
    }
}
