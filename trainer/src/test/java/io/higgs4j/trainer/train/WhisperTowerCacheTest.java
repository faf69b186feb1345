package io.higgs4j.trainer.train;

import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioLoss;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.higgs.HiggsAudioWhisper;
import io.higgs4j.higgs.WhisperEncoder;
import io.higgs4j.higgs.WhisperEncoderConfig;
import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.optim.AdamW;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import io.higgs4j.trainer.data.Collated;
import io.higgs4j.trainer.data.Collator;
import io.higgs4j.trainer.data.DataValidator;
import io.higgs4j.trainer.data.DemoData;
import io.higgs4j.trainer.data.TextTokenizer;
import io.higgs4j.trainer.data.ValidationOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class WhisperTowerCacheTest {

    static final HiggsAudioConfig CONFIG = HiggsAudioConfig.preset("tiny").withWhisper(true);

    /** The losses of a short training run, and what the cache did (null without one). */
    record Run(float[] losses, WhisperTowerCache.Stats stats) {}

    /**
     * Trains the tiny Whisper-conditioned model (same seed every time: same weights) over the batches, one optimizer
     * step each: LoRA on the decoder's MLPs only (the tower stays frozen) and the projection trained in full, so it
     * runs every step on cached tower outputs. cache false: no cache; else memory budget and folder as given.
     */
    static Run train(List<Collated> batches, boolean cache, long budgetBytes, Path dir) {
        Torch.manualSeed(11);
        try (HiggsAudioModel model = new HiggsAudioModel(CONFIG, new Init(DType.FLOAT32, Device.CPU, 0.02));
             LoraModel lora = LoraModel.apply(model, LoraConfig.of(4, 8, 0.0, "mlp,audio", List.of("audio_encoder_proj")),
                     new Init(DType.FLOAT32, Device.CPU, 0.02));
             AdamW opt = new AdamW(List.copyOf(lora.trainableParameters().values()), AdamW.Options.defaults(1e-2));
             WhisperTowerCache towerCache = cache ? new WhisperTowerCache(model.whisper.audioTower, budgetBytes, dir) : null) {
            assertNull(model.whisper.trainableTowerParameter(), "LoRA on mlp,audio leaves the tower frozen");
            assertTrue(model.whisper.audioEncoderProj.linear.weight().requiresGrad(), "the projection trains");
            model.whisper.cache(towerCache);
            model.train(true);
            float[] losses = new float[batches.size()];
            for (int i = 0; i < losses.length; i++) {
                Torch.manualSeed(100 + i);
                try (Scope s = Scope.open()) {
                    HiggsAudioBatch b = batches.get(i).toBatch();
                    HiggsAudioModel.Output out = model.forward(b, 8);
                    Tensor loss = HiggsAudioLoss.compute(out.logits(), out.expandedLabels(), out.audioLogits(), b.labelAudioIds()).total();
                    losses[i] = loss.toFloatArray()[0];
                    loss.backward();
                    opt.step();
                    opt.zeroGrad();
                }
            }
            return new Run(losses, towerCache == null ? null : towerCache.stats());
        }
    }

    /** Two batches of two demo samples, each with a reference WAV (one audio-in clip), as an epoch seen twice. */
    static List<Collated> twoEpochs(Path dir) throws Exception {
        Path data = DemoData.write(dir, 4, 2, CONFIG.audioNumCodebooks(), CONFIG.audioCodebookSize(), 3, true);
        try (TextTokenizer tok = TextTokenizer.demo()) {
            DataValidator.Result r = new DataValidator(CONFIG, tok, ValidationOptions.defaults()).validate(data, null);
            assertEquals(4, r.report().valid(), r.report().invalidSamples().toString());
            Collator collator = new Collator(CONFIG);
            Collated a = collator.collate(r.samples().subList(0, 2)), b = collator.collate(r.samples().subList(2, 4));
            return List.of(a, b, a, b);
        }
    }

    static List<Path> files(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    @Test
    void lossesAreBitIdenticalWithoutTheCacheFromMemoryAndFromDisk(@TempDir Path tmp) throws Exception {
        List<Collated> batches = twoEpochs(tmp.resolve("data"));
        Path root = tmp.resolve("cache");
        float[] plain = train(batches, false, 0, null).losses();
        // after the first run (the feature extractor keeps its mel filters), and once the garbage of earlier tests in
        // this JVM is freed: a Cleaner freeing it during the runs would lower the count under them
        long live = settledLiveCount(), leaked = Tensor.leakedCount();

        Run cold = train(batches, true, 64 << 20, root);
        assertArrayEquals(plain, cold.losses(), "cache filled in the first epoch, read from memory in the second");
        assertEquals(new WhisperTowerCache.Stats(4, 0, 4, 0, 4, cold.stats().bytes()), cold.stats(),
                "4 clips computed in epoch 1, all 4 from memory in epoch 2");
        Path towerDir;
        try (Stream<Path> s = Files.list(root)) {
            towerDir = s.findFirst().orElseThrow();
        }
        assertTrue(towerDir.getFileName().toString().startsWith("tower-"), towerDir.toString());
        assertEquals(4, files(towerDir).size(), "one file per clip");

        Run disk = train(batches, true, 0, root);
        assertArrayEquals(plain, disk.losses(), "every tower output read back from disk");
        assertEquals(new WhisperTowerCache.Stats(0, 8, 0, 0, 0, 0), disk.stats());

        // Damaged entries: not a safetensors file, and a valid file of the wrong shape. Both recomputed and rewritten.
        List<Path> f = files(towerDir);
        Files.writeString(f.get(0), "not a tensor");
        try (Tensor wrong = Tensor.zeros(3, 32)) {
            SafetensorsWriter.write(f.get(1), Map.of(WhisperTowerCache.TENSOR, wrong), Map.of("key", f.get(1).getFileName().toString()
                    .replace(".safetensors", "")));
        }
        Run repaired = train(batches, true, 0, root);
        assertArrayEquals(plain, repaired.losses(), "damaged entries are recomputed, never used");
        assertEquals(new WhisperTowerCache.Stats(0, 6, 2, 2, 0, 0), repaired.stats(), "2 rejected and recomputed in epoch 1, all read in epoch 2");
        assertEquals(live, settledLiveCount(), "no tensor left alive by the runs");
        assertEquals(leaked, Tensor.leakedCount(), "none dropped unclosed either (the collector freed none of theirs)");
    }

    /** Tensor.liveCount() once two readings around a collection agree (unreachable tensors' Cleaners have run). */
    private static long settledLiveCount() throws InterruptedException {
        long before = -1, now = Tensor.liveCount();
        for (int i = 0; i < 50 && now != before; i++) {
            System.gc();
            Thread.sleep(20);
            before = now;
            now = Tensor.liveCount();
        }
        return now;
    }

    /** A tiny tower (d_model 32) to size entries by: a clip of 100 frames keeps tokenCount(100) = 25 rows, 3200 bytes. */
    static WhisperEncoder tower() {
        Torch.manualSeed(5);
        return new WhisperEncoder(WhisperEncoderConfig.tiny(), Init.cpu(DType.FLOAT32));
    }

    /** An entry of the right shape for a clip of frames real frames in a 400-frame window, counting calls. */
    static Tensor compute(long frames, int[] calls) {
        calls[0]++;
        return Tensor.full(new long[] {HiggsAudioWhisper.clipTokens(frames, 400), 32}, calls[0], DType.FLOAT32, Device.CPU);
    }

    @Test
    void memoryKeepsTheMostRecentlyUsedWithinItsBudget() {
        try (WhisperEncoder t = tower(); WhisperTowerCache cache = new WhisperTowerCache(t, 2 * 3200, null); Scope s = Scope.open()) {
            Tensor a = Tensor.randn(1, 128, 400), b = Tensor.randn(1, 128, 400), c = Tensor.randn(1, 128, 400);
            int[] calls = {0};
            assertEquals(1.0, cache.get(a, 100, true, () -> compute(100, calls)).max().item());
            cache.get(b, 100, true, () -> compute(100, calls));
            Tensor again = cache.get(a, 100, true, () -> compute(100, calls)); // a is now the most recent
            assertEquals(2, calls[0], "a came from memory");
            assertEquals(1.0, again.max().item(), "the value computed first");
            cache.get(c, 100, true, () -> compute(100, calls));
            assertTrue(cache.inMemory(a, 100, true) && cache.inMemory(c, 100, true));
            assertFalse(cache.inMemory(b, 100, true), "b, the least recently used, was dropped to stay within 6400 bytes");
            assertEquals(6400, cache.stats().bytes());
            // 400 frames: tokenCount 100 rows, 12800 bytes, over the budget: returned, not held
            Tensor big = cache.get(a, 400, true, () -> compute(400, calls));
            assertArrayEquals(new long[] {100, 32}, big.shape());
            assertEquals(2, cache.stats().entries());
        }
    }

    @Test
    void aChangedClipOrMaskIsANewEntry() {
        try (WhisperEncoder t = tower(); WhisperTowerCache cache = new WhisperTowerCache(t, 1 << 20, null); Scope s = Scope.open()) {
            Tensor a = Tensor.randn(1, 128, 400);
            int[] calls = {0};
            cache.get(a, 100, true, () -> compute(100, calls));
            Tensor changed = a.clone();
            changed.select(2, 399).select(1, 0).fill_(0.5); // one value, in the padding even
            cache.get(changed, 100, true, () -> compute(100, calls));
            cache.get(a, 100, false, () -> compute(100, calls));
            cache.get(a, 101, true, () -> compute(101, calls));
            cache.get(a.to(DType.FLOAT64), 100, true, () -> compute(100, calls).to(DType.FLOAT32));
            assertEquals(5, calls[0], "features, mask flag, real frames and dtype are all part of the key");
            cache.get(a.clone(), 100, true, () -> compute(100, calls));
            assertEquals(5, calls[0], "equal features are the same entry");
        }
    }

    @Test
    void aTowerOfOtherWeightsUsesAnotherFolder(@TempDir Path root) throws Exception {
        try (WhisperEncoder t = tower(); WhisperEncoder same = tower(); WhisperEncoder other = tower()) {
            try (var g = Torch.noGrad()) {
                other.layerNorm.weight().fill_(1.001);
            }
            try (WhisperTowerCache c1 = new WhisperTowerCache(t, 0, root); WhisperTowerCache c2 = new WhisperTowerCache(same, 0, root);
                 WhisperTowerCache c3 = new WhisperTowerCache(other, 0, root)) {
                assertEquals(c1.dir(), c2.dir(), "the same weights: the same folder");
                assertNotEquals(c1.dir(), c3.dir());
            }
        }
    }

    @Test
    void aFolderThatCannotBeCreatedIsNamed(@TempDir Path root) throws Exception {
        Path file = Files.writeString(root.resolve("file"), "x");
        try (WhisperEncoder t = tower()) {
            var e = assertThrows(IllegalArgumentException.class, () -> new WhisperTowerCache(t, 0, file));
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        }
    }

    /** The attention preset's q/k/v_proj suffixes match Whisper's self_attn too: LoRA then trains the tower. */
    @Test
    void theComprehensivePresetReachesTheTowerAndModulesToSaveCanToo() {
        try (HiggsAudioModel model = HiggsAudioModel.shapeOnly(CONFIG);
             LoraModel lora = LoraModel.apply(model, LoraConfig.of(4, 8, 0.0, "comprehensive", List.of()), Init.meta())) {
            assertTrue(model.whisper.trainableTowerParameter().matches("audio_tower\\.layers\\.0\\.self_attn\\.[qkv]_proj\\.lora_[AB]\\.weight"),
                    model.whisper.trainableTowerParameter());
        }
        try (HiggsAudioModel model = HiggsAudioModel.shapeOnly(CONFIG);
             LoraModel lora = LoraModel.apply(model, LoraConfig.of(4, 8, 0.0, "mlp", List.of("audio_tower.layer_norm")), Init.meta())) {
            assertEquals("audio_tower.layer_norm.weight", model.whisper.trainableTowerParameter());
        }
    }
}
