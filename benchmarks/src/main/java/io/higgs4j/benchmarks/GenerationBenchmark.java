package io.higgs4j.benchmarks;

import io.higgs4j.higgs.GenerationConfig;
import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioGenerator;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.higgs.KvCache;
import io.higgs4j.nn.Init;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Generation with the KV cache on the {@code small} preset (float32, CPU, random weights std 0.02, seed 0; the audio
 * head's stream-EOS rows zeroed so a clip never ends early): a prompt of promptLength random text ids ending in
 * {@code <|audio_out_bos|>}, then frames audio frames, greedy. Audio frames per second = frames / (time per op); the
 * real-time factor is (time per op) / (frames / 25). {@code prefill} times the prompt's forward alone.
 *
 * <p>{@link #main} times the same thing as scripts/parity/generation_reference.py times the official generate loop
 * (one warm-up call, then REPEATS timed calls), for run-quick.sh to run both on the same libtorch (LIBTORCH=...).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@org.openjdk.jmh.annotations.State(org.openjdk.jmh.annotations.Scope.Thread)
public class GenerationBenchmark {

    @Param({"32"})
    public int promptLength;

    @Param({"100"})
    public int frames;

    private HiggsAudioModel model;
    private HiggsAudioBatch prompt;
    private GenerationConfig config;

    @Setup(Level.Trial)
    public void setUp() {
        HiggsAudioConfig c = HiggsAudioConfig.preset("small");
        Torch.manualSeed(0);
        model = new HiggsAudioModel(c, new Init(DType.FLOAT32, Device.CPU, c.textConfig().initializerRange()));
        int k = c.audioNumCodebooks(), width = c.audioCodebookSize() + 2;
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            Tensor head = model.audioDecoderProj.audioLmHead.weight();
            for (int i = 0; i < k; i++) head.select(0, (long) i * width + c.audioStreamEosId()).zero_();
        }
        Random r = new Random(0);
        long[] ids = new long[promptLength];
        for (int i = 0; i < ids.length - 1; i++) ids[i] = r.nextInt(4000);
        ids[ids.length - 1] = c.audioOutBosTokenId();
        prompt = new HiggsAudioBatch(Scope.disown(Tensor.of(ids, 1, ids.length)), null, null, null, null, null, null, null);
        config = GenerationConfig.greedy(frames + 1);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        prompt.inputIds().close();
        model.close();
    }

    @Benchmark
    public HiggsAudioGenerator.Result generate() {
        HiggsAudioGenerator.Result r = new HiggsAudioGenerator(model).generate(prompt, config);
        if (r.audioColumns() != frames + 1) throw new IllegalStateException("expected " + (frames + 1) + " columns, got " + r.audioColumns());
        return r;
    }

    @Benchmark
    public long prefill() {
        try (KvCache cache = new KvCache(model, 256); Scope s = Scope.open(); var g = Torch.noGrad()) {
            model.prefill(prompt, cache);
            return cache.positions();
        }
    }

    /** Args: promptLength frames repeats [threads (default: libtorch's)]. */
    public static void main(String[] args) {
        GenerationBenchmark b = new GenerationBenchmark();
        b.promptLength = args.length > 0 ? Integer.parseInt(args[0]) : 32;
        b.frames = args.length > 1 ? Integer.parseInt(args[1]) : 100;
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        if (args.length > 3) Torch.setNumThreads(Integer.parseInt(args[3]));
        Torch.RuntimeInfo info = Torch.info();
        System.out.printf("libtorch %s from %s (%s), %d threads%n", info.version(), info.directory(), info.source(), info.threads());
        b.setUp();
        try {
            b.generate();
            b.prefill(); // warm-up
            double[] prefill = new double[5];
            for (int i = 0; i < prefill.length; i++) {
                long t0 = System.nanoTime();
                b.prefill();
                prefill[i] = (System.nanoTime() - t0) / 1e9;
            }
            Arrays.sort(prefill);
            for (int i = 0; i < repeats; i++) {
                long t0 = System.nanoTime();
                b.generate();
                double seconds = (System.nanoTime() - t0) / 1e9;
                System.out.printf(Locale.ROOT, "higgs4j_generate frames=%d seconds=%.4f frames_per_s=%.2f rtf=%.4f prefill_tokens_per_s=%.1f%n",
                        b.frames, seconds, b.frames / seconds, seconds / (b.frames / 25.0), b.promptLength / prefill[prefill.length / 2]);
            }
        } finally {
            b.tearDown();
        }
    }
}
