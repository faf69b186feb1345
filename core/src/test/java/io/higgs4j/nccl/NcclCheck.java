package io.higgs4j.nccl;

import io.higgs4j.bindings.NcclLoader;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.util.Arrays;

/**
 * The NCCL part of scripts/gpu-check.sh: loads NCCL, makes a one-rank communicator on cuda:0, all-reduces a CUDA tensor
 * produced by a kernel on libtorch's current stream, and prints what it saw. Exit status 0 when the sums are right,
 * 2 when NCCL is not installed, 1 otherwise.
 */
public final class NcclCheck {

    public static void main(String[] args) {
        if (!Torch.cudaAvailable()) {
            System.out.println("nccl check: CUDA is not available");
            System.exit(1);
        }
        NcclLoader.Loaded nccl;
        try {
            nccl = NcclLoader.load();
        } catch (NcclLoader.NcclNotFoundException e) {
            System.out.println("nccl check: NCCL not found: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.out.println("NCCL " + nccl.version() + " (code " + nccl.versionCode() + ") from " + nccl.library()
                + " [" + nccl.source() + "], ncclGetLastError " + (nccl.hasLastError() ? "present" : "absent"));
        System.out.println("current stream of cuda:0: 0x" + Long.toHexString(Torch.currentCudaStream(0)));
        Device cuda = Device.cuda(0);
        boolean ok;
        try (Scope s = Scope.open(); NcclCommunicator comm = NcclCommunicator.create(NcclCommunicator.uniqueId(), 1, 0, 0)) {
            System.out.println(comm);
            Tensor t = Tensor.arange(0, 1 << 20, 1).to(cuda).to(io.higgs4j.torch.DType.FLOAT32).mul(0.5);
            double before = t.sum().item();
            long t0 = System.nanoTime();
            comm.allReduce(t, NcclCommunicator.ReduceOp.SUM);
            Torch.cudaSynchronize(0);
            double ms = (System.nanoTime() - t0) / 1e6;
            double after = t.sum().item();
            float[] head = Arrays.copyOf(t.slice(0, 0, 4).toFloatArray(), 4);
            System.out.printf("allReduce SUM of %d float32 on cuda:0: sum before %.1f, after %.1f, head %s, %.2f ms%n",
                    t.numel(), before, after, Arrays.toString(head), ms);
            Tensor out = Tensor.zeros(new long[] {1, 4}, io.higgs4j.torch.DType.FLOAT32, cuda);
            comm.allGather(t.slice(0, 0, 4).contiguous(), out);
            System.out.println("allGather: " + Arrays.toString(out.toFloatArray()));
            comm.checkAsyncError();
            ok = Math.abs(before - after) <= 1e-6 * Math.abs(before) && Arrays.equals(head, new float[] {0f, 0.5f, 1f, 1.5f})
                    && Arrays.equals(out.toFloatArray(), head);
        }
        System.out.println(ok ? "nccl check: OK" : "nccl check: FAILED");
        System.exit(ok ? 0 : 1);
    }
}
