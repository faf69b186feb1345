package io.higgs4j.benchmarks;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
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
 * {@link TinyOpBenchmark}'s op through DJL's PyTorch engine, which ships its own libtorch 2.7.1 (not 2.10: say so next
 * to its numbers): {@code a.add(b)} on 4 floats, the result closed at once; with grad, inside an open
 * GradientCollector (DJL's recording scope) on inputs that require gradients. Needs the `djl` Maven profile (the
 * native jar) and runs offline. Touches no higgs4j class.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dai.djl.offline=true"})
@State(Scope.Thread)
public class DjlTinyOpBenchmark {

    private NDManager manager;
    private NDArray a, b, ga, gb;
    private GradientCollector collector;

    @Setup(Level.Trial)
    public void setUp() {
        manager = NDManager.newBaseManager("PyTorch");
        a = manager.create(new float[] {1, 2, 3, 4});
        b = manager.create(new float[] {5, 6, 7, 8});
        ga = manager.create(new float[] {1, 2, 3, 4});
        gb = manager.create(new float[] {5, 6, 7, 8});
        ga.setRequiresGradient(true);
        gb.setRequiresGradient(true);
        try (NDArray c = a.add(b)) {
            float[] v = c.toFloatArray();
            if (v[0] != 6 || v[3] != 12) throw new IllegalStateException("DJL add gave " + java.util.Arrays.toString(v));
        }
        System.out.println("DJL engine " + Engine.getInstance().getEngineName() + " " + Engine.getInstance().getVersion());
        OneLibTorch.check();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (collector != null) collector.close();
        manager.close();
    }

    @Benchmark
    public void add(Blackhole bh) {
        try (NDArray c = a.add(b)) {
            bh.consume(c);
        }
    }

    @Benchmark
    public void addRequiresGrad(Blackhole bh) {
        if (collector == null) collector = Engine.getInstance().newGradientCollector();
        try (NDArray c = ga.add(gb)) {
            bh.consume(c);
        }
    }
}
