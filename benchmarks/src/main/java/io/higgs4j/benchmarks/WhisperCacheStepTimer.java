package io.higgs4j.benchmarks;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.higgs.TrainingPass;
import io.higgs4j.higgs.WhisperEncoderConfig;
import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.optim.AdamW;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Torch;
import io.higgs4j.trainer.data.BatchSampler;
import io.higgs4j.trainer.data.Collated;
import io.higgs4j.trainer.data.Collator;
import io.higgs4j.trainer.data.DataValidator;
import io.higgs4j.trainer.data.DemoData;
import io.higgs4j.trainer.data.TextTokenizer;
import io.higgs4j.trainer.data.ValidationOptions;
import io.higgs4j.trainer.train.WhisperTowerCache;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What the Whisper cache saves per training step, in one run on the same batches: the LoRA step (features from the
 * waveforms; the trainer's TrainingPass: forward, loss, backward; AdamW; collation done beforehand) of the demo data on
 * a model without Whisper, with Whisper running the tower every step, with the tower output from a warm memory cache,
 * and from a warm disk cache (memory budget 0). The four models have the same weights; LoRA on the decoder's MLPs and
 * the audio FFN (the tower stays frozen), the Whisper projection trained in full. One untimed pass over the batches
 * warms the JIT and fills the caches; then the modes take turns on each batch, so that noise from other processes
 * falls on all of them. Prints the median ms per step and tokens/s of each, and the ratios. Args: config (tiny: the
 * demo's; small: the small Llama with a Whisper-base-sized tower, d_model 512, 6 layers, and the demo tokenizer's
 * ids), steps (12), batch (4).
 * <pre>java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar io.higgs4j.benchmarks.WhisperCacheStepTimer tiny 12 4</pre>
 */
public final class WhisperCacheStepTimer {

    /** One model being trained, and its cache (null for none). */
    private static final class Rig implements AutoCloseable {
        final String name;
        final HiggsAudioModel model;
        final LoraModel lora;
        final AdamW optimizer;
        final WhisperTowerCache cache;
        final List<Double> ms = new ArrayList<>();
        long tokens;
        double featureMs;

        Rig(String name, HiggsAudioConfig config, boolean cache, long budgetBytes, Path dir) {
            this.name = name;
            Torch.manualSeed(7);
            model = new HiggsAudioModel(config, Init.cpu(DType.FLOAT32));
            List<String> saved = config.encodeWhisperEmbed() ? List.of("audio_encoder_proj") : List.of();
            lora = LoraModel.apply(model, LoraConfig.of(16, 32, 0.0, "mlp,audio", saved), Init.cpu(DType.FLOAT32));
            optimizer = new AdamW(List.copyOf(lora.trainableParameters().values()), AdamW.Options.defaults(1e-3));
            this.cache = cache ? new WhisperTowerCache(model.whisper.audioTower, budgetBytes, dir) : null;
            if (cache) model.whisper.cache(this.cache);
            model.train(true);
        }

        void step(Collated c, boolean timed) {
            long t0 = System.nanoTime();
            try (Scope s = Scope.open()) {
                HiggsAudioBatch b = c.toBatch();
                if (timed) featureMs += (System.nanoTime() - t0) / 1e6;
                TrainingPass.run(model, b, 8, TrainingPass.Options.defaults()); // the trainer's forward, loss and backward
                optimizer.step();
                optimizer.zeroGrad();
            }
            if (timed) {
                ms.add((System.nanoTime() - t0) / 1e6);
                tokens += c.counts().mergedTokens();
            }
        }

        double median() {
            double[] v = ms.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        }

        double tokensPerSecond() {
            return tokens / (ms.stream().mapToDouble(Double::doubleValue).sum() / 1e3);
        }

        @Override
        public void close() {
            if (cache != null) cache.close();
            optimizer.close();
            lora.close();
            model.close();
        }
    }

    public static void main(String[] args) throws Exception {
        String which = args.length > 0 ? args[0] : "tiny";
        int steps = args.length > 1 ? Integer.parseInt(args[1]) : 12, batch = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        HiggsAudioConfig whisper = config(which);
        HiggsAudioConfig plain = whisper.withWhisper(false);
        Path dir = Files.createTempDirectory("higgs4j-whisper-cache-bench");
        Path data = DemoData.write(dir.resolve("data"), 48, 4, whisper.audioNumCodebooks(), whisper.audioCodebookSize(), 1, true);
        List<Collated> withWhisper = batches(whisper, data, steps, batch), without = batches(plain, data, steps, batch);
        Torch.RuntimeInfo info = Torch.info();
        System.out.printf("libtorch %s, %d threads; %s config, Whisper tower d_model %d x %d layers; %d steps of %d samples%n", info.version(),
                info.threads(), which, whisper.audioEncoderConfig().dModel(), whisper.audioEncoderConfig().encoderLayers(), steps, batch);
        Path cacheDir = dir.resolve("cache");
        try (Rig none = new Rig("no Whisper", plain, false, 0, null);
             Rig tower = new Rig("Whisper, tower every step", whisper, false, 0, null);
             Rig memory = new Rig("Whisper, warm memory cache", whisper, true, 1L << 30, cacheDir);
             Rig disk = new Rig("Whisper, warm disk cache", whisper, true, 0, cacheDir)) {
            List<Rig> rigs = List.of(none, tower, memory, disk);
            for (int i = 0; i < steps; i++) {       // untimed: JIT warm-up; memory fills its cache and writes the files
                none.step(without.get(i), false);
                tower.step(withWhisper.get(i), false);
                memory.step(withWhisper.get(i), false);
            }
            for (int i = 0; i < steps; i++) disk.step(withWhisper.get(i), false); // reads the files: warms its reads
            for (int i = 0; i < steps; i++) {
                for (int j = 0; j < rigs.size(); j++) { // each batch, each mode; who goes first rotates
                    Rig r = rigs.get((i + j) % rigs.size());
                    r.step(r == none ? without.get(i) : withWhisper.get(i), true);
                }
            }
            for (Rig r : rigs) {
                System.out.printf(Locale.ROOT, "%-28s median %7.1f ms/step (batch tensors and log-mel features %5.1f ms on average), "
                                + "%6.0f tokens/s%s%n", r.name, r.median(), r.featureMs / steps, r.tokensPerSecond(),
                        r.cache == null ? "" : "; " + r.cache.stats().describe());
            }
            System.out.printf(Locale.ROOT, "step time, tower every step / warm memory cache: %.1fx; / warm disk cache: %.1fx%n",
                    tower.median() / memory.median(), tower.median() / disk.median());
            System.out.printf(Locale.ROOT, "time per token against no Whisper: tower every step %.1fx, warm memory cache %.1fx, warm disk cache %.1fx%n",
                    none.tokensPerSecond() / tower.tokensPerSecond(), none.tokensPerSecond() / memory.tokensPerSecond(),
                    none.tokensPerSecond() / disk.tokensPerSecond());
        }
    }

    /** The preset with a Whisper tower: tiny's own; small with a Whisper-base-sized one. */
    static HiggsAudioConfig config(String which) {
        if (which.equals("tiny")) return HiggsAudioConfig.preset("tiny").withWhisper(true);
        if (!which.equals("small")) throw new IllegalArgumentException("config must be tiny or small, got " + which);
        ObjectNode json = HiggsAudioConfig.preset("small").toJson();
        ObjectNode tiny = HiggsAudioConfig.preset("tiny").toJson();
        for (String id : List.of("audio_in_token_idx", "audio_out_token_idx", "audio_out_bos_token_id", "audio_eos_token_id", "pad_token_id")) {
            json.set(id, tiny.get(id)); // the demo tokenizer's ids, which the data are written with
        }
        json.set("audio_encoder_config", new WhisperEncoderConfig(128, 512, 6, 8, 2048, 1500, 1e-5, 0.02).toJson());
        json.put("encode_whisper_embed", true);
        json.put("skip_audio_tower", false);
        return HiggsAudioConfig.fromJson(json);
    }

    /** The first steps batches of epoch 0 of the demo data, collated for config. */
    static List<Collated> batches(HiggsAudioConfig config, Path data, int steps, int batch) throws Exception {
        DataValidator.Result valid;
        try (TextTokenizer tok = TextTokenizer.demo()) {
            valid = new DataValidator(config, tok, ValidationOptions.defaults()).validate(data, null).requireNonEmpty(data);
        }
        BatchSampler sampler = new BatchSampler(valid.mergedLengths(), batch, 1);
        List<int[]> order = sampler.epoch(0);
        if (order.size() < steps) throw new IllegalArgumentException(steps + " steps, but an epoch has " + order.size() + " batches");
        Collator collator = new Collator(config);
        List<Collated> out = new ArrayList<>();
        for (int i = 0; i < steps; i++) out.add(collator.collate(valid.batch(order.get(i))));
        return out;
    }
}
