package io.higgs4j.benchmarks;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.util.concurrent.TimeUnit;

/**
 * {@link TinyOpBenchmark}'s op through JavaCPP's own PyTorch Java API (org.bytedeco:pytorch 2.10.0-1.5.13, JNI):
 * {@code a.add(b)} on 4-element float32 tensors, the result released at once with {@code close()} (which is
 * {@code Pointer.deallocate()}: it deletes the native at::Tensor and unregisters it from JavaCPP's GC tracking).
 * JavaCPP's defaults are left as they are, as a user would have them.
 *
 * <p>Touches no higgs4j class: this fork loads JavaCPP's copy of libtorch (from ~/.javacpp/cache) only.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class JavaCppTinyOpBenchmark {

    private Tensor a, b, ga, gb;

    @Setup(Level.Trial)
    public void setUp() {
        a = Tensor.create(1f, 2f, 3f, 4f);
        b = Tensor.create(5f, 6f, 7f, 8f);
        ga = Tensor.create(1f, 2f, 3f, 4f);
        ga.set_requires_grad(true);
        gb = Tensor.create(5f, 6f, 7f, 8f);
        gb.set_requires_grad(true);
        try (Tensor c = a.add(b); Tensor gc = ga.add(gb)) {
            check(c, false);
            check(gc, true);
        }
        OneLibTorch.check();
    }

    private static void check(Tensor c, boolean wantGrad) {
        float[] sum = new float[4];
        for (int i = 0; i < 4; i++) sum[i] = c.get(i).item_float();
        if (sum[0] != 6 || sum[1] != 8 || sum[2] != 10 || sum[3] != 12 || c.requires_grad() != wantGrad) {
            throw new IllegalStateException("add gave " + java.util.Arrays.toString(sum) + ", requires_grad=" + c.requires_grad());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        a.close();
        b.close();
        ga.close();
        gb.close();
    }

    @Benchmark
    public void add(Blackhole bh) {
        try (Tensor c = a.add(b)) {
            bh.consume(c);
        }
    }

    @Benchmark
    public void addRequiresGrad(Blackhole bh) {
        try (Tensor c = ga.add(gb)) {
            bh.consume(c);
        }
    }
}
