// Where a higgs4j tiny op's time goes, in one JVM, best of 5 timed loops: Tensor.add + close, the same libtorch
// entry called raw through the jextract bindings, and the Java pieces Tensor adds (Cleaner, LongAdder, ThreadLocal).
// Run (after packaging): java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar benchmarks/probes/OursProbe.java
import io.higgs4j.torch.Tensor;
import io.higgs4j.bindings.generated.LibTorch;
import java.lang.foreign.*;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.LongAdder;

public class OursProbe {
    interface Op { void run(); }
    static double time(String what, int n, Op op) {
        for (int i = 0; i < n; i++) op.run();
        long best = Long.MAX_VALUE;
        for (int r = 0; r < 5; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) op.run();
            best = Math.min(best, System.nanoTime() - t0);
        }
        double ns = (double) best / n;
        System.out.printf("%-60s %8.0f ns%n", what, ns);
        return ns;
    }
    static long sink;
    static final Cleaner CLEANER = Cleaner.create();
    static final LongAdder LIVE = new LongAdder();
    static final ThreadLocal<Object> TL = new ThreadLocal<>();
    public static void main(String[] args) {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4}), b = Tensor.of(new float[] {5, 6, 7, 8});
        time("Tensor a.add(b) + close()", 500_000, () -> { try (Tensor c = a.add(b)) { sink += c.hashCode(); } });
        Tensor ga = Tensor.of(new float[] {1, 2, 3, 4}).requiresGrad(true), gb = Tensor.of(new float[] {5, 6, 7, 8}).requiresGrad(true);
        time("Tensor ga.add(gb) + close() (requires_grad)", 500_000, () -> { try (Tensor c = ga.add(gb)) { sink += c.hashCode(); } });
        // raw floor: same entry point, straight jextract calls on handles made here
        MemorySegment out = Arena.global().allocate(ValueLayout.ADDRESS);
        MemorySegment sizes = Arena.global().allocateFrom(ValueLayout.JAVA_LONG, 4L), strides = Arena.global().allocateFrom(ValueLayout.JAVA_LONG, 1L);
        MemorySegment[] h = new MemorySegment[4];
        for (int i = 0; i < 4; i++) {
            LibTorch.aoti_torch_empty_strided(1, sizes, strides, LibTorch.aoti_torch_dtype_float32(), LibTorch.aoti_torch_device_type_cpu(), 0, out);
            h[i] = out.get(ValueLayout.ADDRESS, 0);
        }
        LibTorch.torch_set_requires_grad(h[2], true); LibTorch.torch_set_requires_grad(h[3], true);
        time("raw: subtract_Tensor(a, b, -1) + delete_tensor_object", 500_000, () -> {
            LibTorch.aoti_torch_aten_subtract_Tensor(h[0], h[1], -1.0, out);
            LibTorch.aoti_torch_delete_tensor_object(out.get(ValueLayout.ADDRESS, 0));
        });
        time("raw: same, requires_grad inputs", 500_000, () -> {
            LibTorch.aoti_torch_aten_subtract_Tensor(h[2], h[3], -1.0, out);
            LibTorch.aoti_torch_delete_tensor_object(out.get(ValueLayout.ADDRESS, 0));
        });
        time("Cleaner.register(new Object, runnable).clean()", 2_000_000, () -> {
            Object o = new Object();
            CLEANER.register(o, () -> sink++).clean();
        });
        time("LongAdder inc + dec", 2_000_000, () -> { LIVE.increment(); LIVE.decrement(); });
        time("ThreadLocal.get (x2: Scope.current, scratch)", 2_000_000, () -> { sink += TL.get() == null ? 1 : 0; sink += TL.get() == null ? 1 : 0; });
    }
}
