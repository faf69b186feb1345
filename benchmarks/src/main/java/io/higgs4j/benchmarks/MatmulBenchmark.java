package io.higgs4j.benchmarks;

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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.util.concurrent.TimeUnit;

/**
 * A 2048x2048 float32 matmul through higgs4j, with libtorch's default intra-op threads: the kernel's time, where the
 * binding's cost (microseconds) is noise. GFLOP/s = 2 * 2048^3 / (ms/op * 1e6) = 17179.9 / (ms/op).
 * {@link JavaCppMatmulBenchmark} runs the same through JavaCPP, as a check that both reach the same kernel.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class MatmulBenchmark {

    static final int N = 2048;

    /**
     * libtorch's intra-op threads ({@code -p threads=2}); 0 keeps its default (1 on our 2-vCPU VM). The float32 GEMM
     * itself runs in OpenBLAS, whose own pthread pool has one thread per CPU whatever this says.
     */
    @Param("0")
    public int threads;

    private Tensor a, b;

    @Setup(Level.Trial)
    public void setUp() {
        if (threads > 0) Torch.setNumThreads(threads);
        // Torch.info() before manualSeed: manualSeed as the very first higgs4j call fails (it does not load libtorch).
        System.out.println("# higgs4j: libtorch " + Torch.info().version() + ", intra-op threads " + Torch.numThreads());
        Torch.manualSeed(0);
        a = Tensor.randn(N, N);
        b = Tensor.randn(N, N);
        OneLibTorch.check();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        a.close();
        b.close();
    }

    @Benchmark
    public void matmul(Blackhole bh) {
        try (Tensor c = a.matmul(b)) {
            bh.consume(c);
        }
    }
}
