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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.util.concurrent.TimeUnit;

/** {@link MatmulBenchmark} through JavaCPP's PyTorch API: same size, dtype and thread count defaults. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class JavaCppMatmulBenchmark {

    private static final int N = 2048; // its own copy: this class touches no higgs4j class

    /**
     * libtorch's intra-op threads ({@code -p threads=2}); 0 keeps its default (1 on our 2-vCPU VM). The float32 GEMM
     * itself runs in OpenBLAS, whose own pthread pool has one thread per CPU whatever this says.
     */
    @Param("0")
    public int threads;

    private Tensor a, b;

    @Setup(Level.Trial)
    public void setUp() {
        if (threads > 0) torch.set_num_threads(threads);
        torch.manual_seed(0);
        a = torch.randn(N, N);
        b = torch.randn(N, N);
        OneLibTorch.check();
        System.out.println("# JavaCPP: intra-op threads " + torch.get_num_threads());
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
