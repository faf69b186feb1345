// JavaCPP, RSS check off: a.add(b) vs a.sub(b, -1) (the entry higgs4j's Tensor.add uses). Same cost: the entry is not the difference.
// Run: java --enable-native-access=ALL-UNNAMED -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp benchmarks/target/benchmarks.jar benchmarks/probes/SubVsAdd.java
import org.bytedeco.pytorch.*;
public class SubVsAdd {
    interface Op { void run(); }
    static long sink;
    static void time(String what, int n, Op op) {
        for (int i = 0; i < n; i++) op.run();
        long best = Long.MAX_VALUE;
        for (int r = 0; r < 5; r++) { long t0 = System.nanoTime(); for (int i = 0; i < n; i++) op.run(); best = Math.min(best, System.nanoTime() - t0); }
        System.out.printf("%-40s %6.0f ns%n", what, (double) best / n);
    }
    public static void main(String[] args) {
        Tensor a = Tensor.create(1f, 2f, 3f, 4f), b = Tensor.create(5f, 6f, 7f, 8f);
        Scalar m1 = new Scalar(-1.0);
        for (int k = 0; k < 2; k++) {
            time("a.add(b)", 300_000, () -> { try (Tensor c = a.add(b)) { sink += c.address(); } });
            time("a.sub(b, Scalar(-1.0))", 300_000, () -> { try (Tensor c = a.sub(b, m1)) { sink += c.address(); } });
        }
    }
}
