package io.higgs4j.benchmarks;

import io.higgs4j.torch.Tensor;
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
 * The fixed cost of one op through higgs4j: a 4-element float32 {@code a.add(b)} whose result is closed at once, so
 * each invocation pays for the Java checks, the downcall, libtorch's dispatch, a 16-byte allocation, the result's
 * handle and its release. {@code add} has inputs without grad; {@code addRequiresGrad} has both inputs
 * {@code requiresGrad(true)}, so libtorch also records (and, at close, frees) an AddBackward node.
 *
 * <p>Compare with {@link JavaCppTinyOpBenchmark}, the same op through JavaCPP's PyTorch API. Each runs in its own
 * fork: the two must never share a JVM (each loads its own copy of libtorch).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class TinyOpBenchmark {

    private Tensor a, b, ga, gb;

    @Setup(Level.Trial)
    public void setUp() {
        a = Tensor.of(new float[] {1, 2, 3, 4});
        b = Tensor.of(new float[] {5, 6, 7, 8});
        ga = Tensor.of(new float[] {1, 2, 3, 4}).requiresGrad(true);
        gb = Tensor.of(new float[] {5, 6, 7, 8}).requiresGrad(true);
        try (Tensor c = a.add(b); Tensor gc = ga.add(gb)) {
            check(c.toFloatArray(), false, c.requiresGrad());
            check(gc.toFloatArray(), true, gc.requiresGrad());
        }
        OneLibTorch.check();
    }

    static void check(float[] sum, boolean wantGrad, boolean hasGrad) {
        if (sum.length != 4 || sum[0] != 6 || sum[1] != 8 || sum[2] != 10 || sum[3] != 12 || wantGrad != hasGrad) {
            throw new IllegalStateException("add gave " + java.util.Arrays.toString(sum) + ", requires_grad=" + hasGrad);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        a.close();
        b.close();
        ga.close();
        gb.close();
        if (Tensor.leakedCount() != 0) throw new IllegalStateException(Tensor.leakedCount() + " tensors leaked");
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
