package io.higgs4j.benchmarks;

import io.higgs4j.nn.Init;
import io.higgs4j.tokenizer.AudioTokenizerConfig;
import io.higgs4j.tokenizer.HiggsAudioTokenizer;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
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

import java.util.concurrent.TimeUnit;

/**
 * The Higgs audio tokenizer at the released widths (random weights, float32, CPU): encode a clip of {@code seconds}
 * seconds at 24 kHz to codes, and decode its codes back to audio. Seconds of audio per second = seconds / (time per op).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@org.openjdk.jmh.annotations.State(org.openjdk.jmh.annotations.Scope.Thread)
public class AudioTokenizerBenchmark {

    @Param({"10"})
    public double seconds;

    private HiggsAudioTokenizer tokenizer;
    private Tensor audio, codes;

    @Setup(Level.Trial)
    public void setUp() {
        Torch.manualSeed(0);
        tokenizer = new HiggsAudioTokenizer(AudioTokenizerConfig.v2(), new Init(DType.FLOAT32, Device.CPU, 0.02));
        int n = (int) Math.round(seconds * 24000);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (0.3 * Math.sin(2 * Math.PI * 220 * i / 24000.0) + 0.1 * Math.sin(2 * Math.PI * 1375 * i / 24000.0));
        audio = Tensor.of(x, n);
        codes = tokenizer.encode(audio);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        codes.close();
        audio.close();
        tokenizer.close();
    }

    @Benchmark
    public long encode() {
        try (Tensor c = tokenizer.encode(audio)) {
            return c.size(1);
        }
    }

    @Benchmark
    public long decode() {
        try (Tensor a = tokenizer.decode(codes)) {
            return a.size(0);
        }
    }
}
