package io.higgs4j.trainer.data;

import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioLoss;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.nn.Init;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class DemoDataTest {

    static final HiggsAudioConfig TINY = HiggsAudioConfig.preset("tiny");

    @Test
    void theDemoDataSetIsValidForTheTinyPresetAndDeterministic(@TempDir Path dir) throws Exception {
        Path data = DemoData.write(dir.resolve("a"), 12, 3, 8, 1024, 7);
        DemoData.write(dir.resolve("b"), 12, 3, 8, 1024, 7);
        assertEquals(Files.readString(data), Files.readString(dir.resolve("b").resolve(DemoData.FILE_NAME)));
        assertEquals(-1, Files.mismatch(dir.resolve("a/codes/speaker_1_0004_ref.npy"), dir.resolve("b/codes/speaker_1_0004_ref.npy")));
        try (TextTokenizer tok = TextTokenizer.demo()) {
            DataValidator.Result r = new DataValidator(TINY, tok, ValidationOptions.defaults()).validate(data, new java.io.PrintWriter(System.err, true));
            assertEquals(12, r.report().total());
            assertEquals(12, r.report().valid(), r.report().invalidSamples().toString());
            assertEquals(Map.of("speaker_0", 4, "speaker_1", 4, "speaker_2", 4), r.report().speakers());
            assertTrue(r.report().referenceHours() > 0 && r.report().targetHours() > 0);
            for (EncodedSample e : r.samples()) {
                assertEquals(1, e.audioIn().size());
                assertEquals(1, e.audioOut().size());
                assertTrue(e.audioOut().getFirst().supervised());
                for (long id : e.inputIds()) assertTrue(id > 0 && id < 1024, "no <unk>, all inside the tiny vocabulary: " + id);
            }
        }
    }

    @Test
    void codesFollowPerSpeakerPeriodicPatterns() {
        long[][] c = DemoData.codes(2, 4, 8, 1024);
        assertEquals(8, c.length);
        assertEquals(24, c[0].length, "6 frames per word");
        for (int k = 0; k < 8; k++) {
            for (int t = 0; t + 3 + k < 24; t++) assertEquals(c[k][t], c[k][t + 3 + k], "codebook " + k + " repeats with period " + (3 + k));
        }
        assertNotEquals(DemoData.codes(0, 4, 8, 1024)[0][0], c[0][0], "speakers differ");
    }

    @Test
    void demoBatchesGoThroughTheTinyModel(@TempDir Path dir) throws Exception {
        Path data = DemoData.write(dir, 10, 2, 8, 1024, 1);
        try (TextTokenizer tok = TextTokenizer.demo();
             HiggsAudioModel model = new HiggsAudioModel(TINY, new Init(DType.FLOAT32, Device.CPU, 0.02))) {
            DataValidator.Result r = new DataValidator(TINY, tok, ValidationOptions.defaults()).validate(data, null).requireNonEmpty(data);
            BatchSampler sampler = new BatchSampler(r.mergedLengths(), 4, 0);
            Collator collator = new Collator(TINY);
            model.train(true);
            for (BatchSampler.Step step : sampler.steps(BatchSampler.Position.START, 1)) {
                List<EncodedSample> samples = r.batch(step.indices());
                Collated c = collator.collate(samples);
                try (Scope scope = Scope.open()) {
                    HiggsAudioBatch batch = c.toBatch();
                    HiggsAudioModel.Output out = model.forward(batch, 8);
                    // The model's merged length: each row's text padding plus its clips' columns, the longest rounded to 8.
                    int longest = samples.stream().mapToInt(e -> c.seqLen() - e.textLength() + e.mergedLength()).max().orElseThrow();
                    assertEquals(longest, c.counts().mergedSeqLen());
                    assertEquals((longest + 7) / 8 * 8, out.logits().size(1));
                    assertEquals(c.labelAudioIds()[0].length, out.audioLogits().size(0));
                    HiggsAudioLoss.Result loss = HiggsAudioLoss.compute(out.logits(), out.expandedLabels(), out.audioLogits(),
                            batch.labelAudioIds(), HiggsAudioLoss.Options.defaults());
                    double total = loss.total().item();
                    assertTrue(Double.isFinite(total) && total > 0, "loss " + total);
                    // Text loss near ln(1024) and audio loss near ln(1026) for an untrained model.
                    assertEquals(Math.log(1024), loss.text().item(), 1.0);
                }
            }
        }
    }
}
