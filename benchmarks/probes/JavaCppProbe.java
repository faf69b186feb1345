// What JavaCPP's tiny op costs and how much of it is the resident-memory check (Pointer.physicalBytesInaccurate).
// Run twice: java --enable-native-access=ALL-UNNAMED [-Dorg.bytedeco.javacpp.maxPhysicalBytes=0] \
//              -cp benchmarks/target/benchmarks.jar benchmarks/probes/JavaCppProbe.java
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.Tensor;

public class JavaCppProbe {
    interface Op { void run(); }
    static double time(String what, int n, Op op) {
        for (int i = 0; i < n; i++) op.run();               // warm up
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
    public static void main(String[] args) {
        Tensor a = Tensor.create(1f, 2f, 3f, 4f), b = Tensor.create(5f, 6f, 7f, 8f);
        System.out.println("maxPhysicalBytes=" + Pointer.maxPhysicalBytes() + " maxBytes=" + Pointer.maxBytes());
        time("Pointer.physicalBytesInaccurate(maxPhysicalBytes)", 200_000, () -> sink += Pointer.physicalBytesInaccurate(Pointer.maxPhysicalBytes()));
        time("Pointer.physicalBytes()", 200_000, () -> sink += Pointer.physicalBytes());
        time("a.add(b) + close()", 200_000, () -> { try (Tensor c = a.add(b)) { sink += c.address(); } });
    }
}
