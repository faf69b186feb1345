package io.higgs4j.benchmarks;

import io.higgs4j.bindings.LibTorchLoader;
import io.higgs4j.bindings.generated.LibTorch;
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

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

/**
 * The floor under {@link TinyOpBenchmark}: the same libtorch entry that {@code Tensor.add} calls
 * ({@code aoti_torch_aten_subtract_Tensor} with alpha = -1) and the same delete, straight through the jextract
 * bindings: no Java-side checks, no Tensor object, no Cleaner, no Scope. {@code TinyOpBenchmark - this} is what the
 * higgs4j Java layer costs per op; this itself is libtorch's own cost plus two plain FFM downcalls.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
@SuppressWarnings("restricted") // reinterpret of libtorch's data pointer, in setup only
public class RawFfmTinyOpBenchmark {

    private Arena arena;
    private MemorySegment a, b, ga, gb, out;

    @Setup(Level.Trial)
    public void setUp() {
        LibTorchLoader.load(); // before the first use of LibTorch: its symbols are looked up in the loaded libraries
        arena = Arena.ofConfined();
        out = arena.allocate(ValueLayout.ADDRESS);
        a = tensor(1, 2, 3, 4);
        b = tensor(5, 6, 7, 8);
        ga = tensor(1, 2, 3, 4);
        gb = tensor(5, 6, 7, 8);
        check(LibTorch.torch_set_requires_grad(ga, true), "set_requires_grad");
        check(LibTorch.torch_set_requires_grad(gb, true), "set_requires_grad");
        MemorySegment c = add(a, b);
        MemorySegment data = dataOf(c);
        for (int i = 0; i < 4; i++) {
            if (data.getAtIndex(ValueLayout.JAVA_FLOAT, i) != 6 + 2 * i) throw new IllegalStateException("wrong sum");
        }
        LibTorch.aoti_torch_delete_tensor_object(c);
        OneLibTorch.check();
    }

    private MemorySegment tensor(float... values) {
        MemorySegment sizes = arena.allocateFrom(ValueLayout.JAVA_LONG, values.length);
        MemorySegment strides = arena.allocateFrom(ValueLayout.JAVA_LONG, 1L);
        check(LibTorch.aoti_torch_empty_strided(1, sizes, strides, LibTorch.aoti_torch_dtype_float32(),
                LibTorch.aoti_torch_device_type_cpu(), 0, out), "empty_strided");
        MemorySegment t = out.get(ValueLayout.ADDRESS, 0);
        MemorySegment.copy(values, 0, dataOf(t), ValueLayout.JAVA_FLOAT, 0, values.length);
        return t;
    }

    private MemorySegment dataOf(MemorySegment t) {
        check(LibTorch.aoti_torch_get_data_ptr(t, out), "get_data_ptr");
        return out.get(ValueLayout.ADDRESS, 0).reinterpret(16);
    }

    private static void check(int rc, String what) {
        if (rc != 0) throw new IllegalStateException(what + " failed: " + rc);
    }

    private MemorySegment add(MemorySegment x, MemorySegment y) {
        check(LibTorch.aoti_torch_aten_subtract_Tensor(x, y, -1.0, out), "subtract");
        return out.get(ValueLayout.ADDRESS, 0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (MemorySegment t : new MemorySegment[] {a, b, ga, gb}) LibTorch.aoti_torch_delete_tensor_object(t);
        arena.close();
    }

    @Benchmark
    public void add(Blackhole bh) {
        MemorySegment c = add(a, b);
        bh.consume(c);
        LibTorch.aoti_torch_delete_tensor_object(c);
    }

    @Benchmark
    public void addRequiresGrad(Blackhole bh) {
        MemorySegment c = add(ga, gb);
        bh.consume(c);
        LibTorch.aoti_torch_delete_tensor_object(c);
    }
}
