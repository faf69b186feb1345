// Wall time vs process CPU time of the 2048^2 matmul: shows how many threads the GEMM really uses (cpu/wall).
// Run: java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar benchmarks/probes/MatmulProbe.java ours|javacpp
import java.lang.management.ManagementFactory;
public class MatmulProbe {
    public static void main(String[] args) {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        boolean jcpp = args[0].equals("javacpp");
        Runnable mm;
        if (jcpp) {
            var a = org.bytedeco.pytorch.global.torch.randn(2048, 2048); var b = org.bytedeco.pytorch.global.torch.randn(2048, 2048);
            mm = () -> { try (var c = a.matmul(b)) { } };
        } else {
            var a = io.higgs4j.torch.Tensor.randn(2048, 2048); var b = io.higgs4j.torch.Tensor.randn(2048, 2048);
            mm = () -> { try (var c = a.matmul(b)) { } };
        }
        for (int i = 0; i < 3; i++) mm.run();
        for (int r = 0; r < 3; r++) {
            long w0 = System.nanoTime(), c0 = os.getProcessCpuTime();
            for (int i = 0; i < 5; i++) mm.run();
            long w = System.nanoTime() - w0, c = os.getProcessCpuTime() - c0;
            System.out.printf("%s: %.1f ms/op wall, %.1f ms/op cpu, cpu/wall %.2f, %.1f GFLOP/s%n", args[0], w / 5e6, c / 5e6, (double) c / w, 2.0 * Math.pow(2048, 3) / (w / 5.0));
        }
    }
}
