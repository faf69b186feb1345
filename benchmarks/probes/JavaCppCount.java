// Counts the syscalls behind 100,000 JavaCPP add+close (one pread64 of /proc/self/statm each, by default):
//   javac -cp benchmarks/target/benchmarks.jar -d /tmp/probe benchmarks/probes/JavaCppCount.java
//   strace -f -c -e trace=read,pread64,lseek,openat,close java --enable-native-access=ALL-UNNAMED \
//       -cp benchmarks/target/benchmarks.jar:/tmp/probe JavaCppCount
import org.bytedeco.pytorch.Tensor;
public class JavaCppCount {
    public static void main(String[] args) throws Exception {
        Tensor a = Tensor.create(1f, 2f, 3f, 4f), b = Tensor.create(5f, 6f, 7f, 8f);
        long s = 0;
        for (int i = 0; i < 1000; i++) try (Tensor c = a.add(b)) { s += c.address(); }
        System.out.println("START"); System.out.flush();
        Thread.sleep(200);
        for (int i = 0; i < 100_000; i++) try (Tensor c = a.add(b)) { s += c.address(); }
        System.out.println("END " + s);
    }
}
