import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * One try of scripts/exit-during-load.sh: JVM exit timed against libtorch_cpu.so's dlopen. Another thread calls
 * System.exit(143) (what a SIGTERM does); a shutdown hook tells main that the hooks run; main waits DELAY microseconds
 * and loads libtorch_cpu.so, the libraries before it already loaded. The exit thread has then finished its own dlsym
 * calls, which would otherwise wait for dlopen's lock, so its exit() can run libtorch's static destructors while
 * libtorch's initializers still run on main.
 *
 * <p>Usage: ExitDuringLoad LIBTORCH_DIR DELAY_US bare|loader. bare: System.load, no guard; loader: LibTorchLoader.load()
 * with -Dhiggs4j.libtorch=LIBTORCH_DIR. Prints "loaded" or "refused: ..." if main gets that far.
 */
public class ExitDuringLoad {
    public static void main(String[] a) throws Exception {
        Path dir = Path.of(a[0]);
        long delayNanos = Long.parseLong(a[1]) * 1000;
        boolean loader = a[2].equals("loader");
        for (String lib : new String[]{"libquadmath.so.0", "libgfortran.so.5", "libopenblas.so.0", "libgomp.so.1", "libc10.so"}) {
            System.load(dir.resolve(lib).toString());
        }
        System.setProperty("higgs4j.libtorch", dir.toString());
        CountDownLatch hooksRun = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(hooksRun::countDown));
        new Thread(() -> System.exit(143)).start();
        hooksRun.await();
        long t0 = System.nanoTime();
        while (System.nanoTime() - t0 < delayNanos) Thread.onSpinWait();
        try {
            if (loader) io.higgs4j.bindings.LibTorchLoader.load();
            else System.load(dir.resolve("libtorch_cpu.so").toString());
            System.out.println("loaded");
        } catch (RuntimeException e) {
            System.out.println("refused: " + e.getMessage());
        }
        Thread.sleep(10_000);
    }
}
