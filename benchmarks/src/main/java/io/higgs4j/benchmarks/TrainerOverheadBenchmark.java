package io.higgs4j.benchmarks;

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
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import io.higgs4j.trainer.data.BatchSampler;
import io.higgs4j.trainer.data.Collator;
import io.higgs4j.trainer.data.DataValidator;
import io.higgs4j.trainer.data.DemoData;
import io.higgs4j.trainer.data.TextTokenizer;
import io.higgs4j.trainer.data.ValidationOptions;
import io.higgs4j.trainer.data.BatchSource;
import io.higgs4j.trainer.train.LrSchedule;
import io.higgs4j.trainer.train.Progress;
import io.higgs4j.trainer.train.Trainer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The trainer's own cost: {@link Trainer#run} over STEPS optimizer steps of the demo data on the tiny model with LoRA
 * (collation on the fly, loss, clipping, AdamW, schedule, metrics.jsonl, log lines; no checkpoints) against the bare
 * forward + loss + backward of the same batches, collated beforehand. overhead = trainer / bare - 1.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@org.openjdk.jmh.annotations.State(org.openjdk.jmh.annotations.Scope.Benchmark)
public class TrainerOverheadBenchmark {

    static final int STEPS = 40, BATCH = 4;

    private Path dir;
    private HiggsAudioConfig config;
    private HiggsAudioModel model;
    private LoraModel lora;
    private AdamW optimizer;
    private BatchSource source;
    private final List<HiggsAudioBatch> collated = new ArrayList<>();

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        dir = Files.createTempDirectory("higgs4j-trainer-bench");
        config = HiggsAudioConfig.preset("tiny");
        Path data = DemoData.write(dir.resolve("data"), 48, 4, config.audioNumCodebooks(), config.audioCodebookSize(), 1);
        DataValidator.Result valid;
        try (TextTokenizer tok = TextTokenizer.demo()) {
            valid = new DataValidator(config, tok, ValidationOptions.defaults()).validate(data, null).requireNonEmpty(data);
        }
        BatchSampler sampler = new BatchSampler(valid.mergedLengths(), BATCH, 1);
        Collator collator = new Collator(config);
        source = io.higgs4j.trainer.data.ShardedBatches.collating(sampler, collator, valid, 0, 1);
        for (int i = 0; i < STEPS; i++) {
            int e = i / sampler.batchesPerEpoch(), b = i % sampler.batchesPerEpoch();
            collated.add(source.batch(e, b).batch()); // no scope is open: the benchmark owns them
        }
        Torch.manualSeed(1);
        model = new HiggsAudioModel(config, Init.cpu(DType.FLOAT32));
        lora = LoraModel.apply(model, LoraConfig.of(16, 32, 0.0, "comprehensive",
                List.of("audio_decoder_proj.text_lm_head", "audio_decoder_proj.audio_lm_head", "audio_codebook_embeddings")),
                Init.cpu(DType.FLOAT32));
        optimizer = new AdamW(List.copyOf(lora.trainableParameters().values()), AdamW.Options.defaults(1e-3));
        OneLibTorch.check();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        optimizer.close();
        lora.close();
        model.close();
    }

    @Benchmark
    public double bareForwardBackward() {
        double sum = 0;
        for (HiggsAudioBatch b : collated) {
            try (Scope s = Scope.open()) {
                HiggsAudioModel.Output out = model.forward(b, 8);
                Tensor loss = HiggsAudioLoss.compute(out.logits(), out.expandedLabels(), out.audioLogits(), b.labelAudioIds()).total();
                loss.backward();
                sum += loss.item();
            }
            optimizer.zeroGrad();
        }
        return sum;
    }

    @Benchmark
    public long trainerRun() throws Exception {
        Path out = Files.createTempDirectory(dir, "run");
        var settings = new Trainer.Settings(1, STEPS, 1.0, new LrSchedule(LrSchedule.Kind.COSINE, 1e-3, 4, STEPS),
                -1, 0, 1, 1, out, HiggsAudioLoss.Options.defaults(), Device.CPU, 5);
        return new Trainer(model, lora, optimizer, source, settings, new Progress(false, new PrintStream(new ByteArrayOutputStream())))
                .run(null).steps();
    }
}
