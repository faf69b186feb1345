package io.higgs4j.trainer;

import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import picocli.CommandLine.Command;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.concurrent.Callable;

/** Checks that libtorch loads and computes, and says where it came from. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Print the libtorch runtime in use and run a short autograd self-check. Exit code 0 only when all is well.")
public final class DoctorCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        return run(System.out);
    }

    static int run(PrintStream out) {
        Torch.RuntimeInfo info;
        try {
            info = Torch.info();
        } catch (RuntimeException | LinkageError e) {
            Throwable cause = e;
            while (cause.getCause() != null && cause.getMessage() == null) cause = cause.getCause();
            out.println("libtorch: FAILED to load: " + cause);
            out.println("doctor: FAILED");
            return 1;
        }
        out.println("libtorch version: " + info.version());
        out.printf("ABI version: 0x%016x%n", info.abiVersion());
        out.println("loaded from: " + info.source() + " (" + info.directory() + ")");
        for (var lib : info.libraries()) out.println("  " + lib);
        out.println("threads: " + info.threads());
        out.println("memory: " + Torch.memoryReport());
        out.println("CUDA available: " + info.cudaAvailable() + (info.cudaAvailable() ? " (" + info.cudaDeviceCount() + " devices)" : ""));
        for (int i = 0; i < info.cudaDeviceCount(); i++) out.println("  cuda:" + i);

        boolean ok = selfCheck(out, Device.CPU);
        for (int i = 0; i < info.cudaDeviceCount(); i++) ok &= selfCheck(out, Device.cuda(i));
        out.println(ok ? "doctor: OK" : "doctor: FAILED");
        return ok ? 0 : 1;
    }

    /** d/dx sum(x*x + 3x) = 2x + 3, and a matmul against its value by hand. */
    private static boolean selfCheck(PrintStream out, Device device) {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, -2, 3}).to(device).requiresGrad(true);
            Tensor y = x.mul(x).add(x.mul(3.0)).sum();
            y.backward();
            float[] grad = x.grad().toFloatArray();
            boolean gradOk = Arrays.equals(grad, new float[] {5, -1, 9});
            float mm = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2).to(device)
                    .matmul(Tensor.of(new float[] {5, 6}, 2, 1).to(device)).toFloatArray()[1];
            boolean mmOk = mm == 3 * 5 + 4 * 6;
            out.println("autograd self-check on " + device + ": " + (gradOk && mmOk ? "OK" : "FAILED")
                    + " (grad " + Arrays.toString(grad) + ", expected [5.0, -1.0, 9.0]; matmul " + mm + ", expected 39.0)");
            return gradOk && mmOk;
        } catch (RuntimeException e) {
            out.println("autograd self-check on " + device + ": FAILED: " + e.getMessage());
            return false;
        }
    }
}
