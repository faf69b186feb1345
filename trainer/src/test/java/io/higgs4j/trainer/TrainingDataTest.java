package io.higgs4j.trainer;

import io.higgs4j.trainer.data.PromptLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** TrainingData from a request built here, without the command line. */
class TrainingDataTest {

    static TrainingData.Request demo(Path out, int batchSize, double evalRatio) {
        return new TrainingData.Request(true, null, null, null, null, null, evalRatio, batchSize, 2048, 42, PromptLayout.TRAIN,
                false, out);
    }

    @Test
    void theDemoRequestGivesItsSamplesInBatchesAndHoldsOutItsShare(@TempDir Path out) throws Exception {
        TrainingData.Prepared p = TrainingData.prepare(demo(out, 4, 0));
        try (var batches = p.batches()) {
            assertEquals(TrainingData.DEMO_SAMPLES / 4, batches.batchesPerEpoch(), "48 samples in batches of 4");
            assertNull(p.evalSamples());
            assertNull(p.weights(), "the demo starts from random weights");
            assertTrue(Files.isDirectory(out.resolve("demo-data")));
        }
        TrainingData.Prepared held = TrainingData.prepare(demo(out.resolve("held"), 5, 0.25));
        try (var batches = held.batches()) {
            int eval = held.evalSamples().size();
            assertTrue(eval > 0 && eval < TrainingData.DEMO_SAMPLES, "some held out: " + eval);
            assertEquals((TrainingData.DEMO_SAMPLES - eval + 4) / 5, batches.batchesPerEpoch(), "the rest in batches of 5");
        }
    }

    @Test
    void aRankGetsItsShareAndItsOwnCopyOfTheDemoData(@TempDir Path out) throws Exception {
        TrainingData.Prepared p = TrainingData.prepare(demo(out, 5, 0), 1, 2);
        try (var batches = p.batches()) {
            assertEquals(5, batches.batchesPerEpoch(), "10 batches of the 48 samples (the last of 3), 5 for each of 2 ranks");
            assertEquals(out.resolve("demo-data").resolve("rank-1"), p.demoDir());
        }
    }
}
