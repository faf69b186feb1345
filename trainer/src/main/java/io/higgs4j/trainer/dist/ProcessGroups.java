package io.higgs4j.trainer.dist;

import io.higgs4j.torch.Device;
import io.higgs4j.torch.Tensor;

import java.util.List;
import java.util.Map;

/** Process groups from torchrun's environment: RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT. */
public final class ProcessGroups {

    private ProcessGroups() {}

    private static final ProcessGroup SINGLE = new ProcessGroup() {
        @Override public int rank() { return 0; }
        @Override public int worldSize() { return 1; }
        @Override public void allReduceMean(List<Tensor> tensors) {}
        @Override public double[] allReduceMean(double[] values) { return values.clone(); }
        @Override public void broadcast(List<Tensor> tensors, int root) {
            if (root != 0) throw new IllegalArgumentException("broadcast root " + root + " in a group of one");
        }
        @Override public void barrier() {}
        @Override public void abort(String reason) {}
        @Override public void close() {}
        @Override public String toString() { return "single process"; }
    };

    /** One process: rank 0 of 1; the collectives do nothing. */
    public static ProcessGroup single() {
        return SINGLE;
    }

    /** Where this process stands in a launch, as read from the environment; null fields where unset. */
    public record Launch(int rank, int localRank, int worldSize, String masterAddr, int masterPort) {
        public boolean distributed() {
            return worldSize > 1 && localRank >= 0;
        }
    }

    /** Reads torchrun's variables; LOCAL_RANK unset or -1, or WORLD_SIZE unset or 1, mean a single process. */
    public static Launch launch(Map<String, String> env) {
        int world = intVar(env, "WORLD_SIZE", 1);
        int localRank = intVar(env, "LOCAL_RANK", -1);
        int rank = intVar(env, "RANK", Math.max(localRank, 0));
        String addr = env.getOrDefault("MASTER_ADDR", "127.0.0.1");
        int port = intVar(env, "MASTER_PORT", 29500);
        Launch l = new Launch(rank, localRank, world, addr, port);
        if (l.distributed()) {
            if (rank < 0 || rank >= world) throw new IllegalArgumentException("RANK " + rank + " is outside [0, WORLD_SIZE " + world + ")");
            if (port < 1 || port > 65535) throw new IllegalArgumentException("MASTER_PORT " + port + " is not a TCP port");
        }
        return l;
    }

    private static int intVar(Map<String, String> env, String name, int fallback) {
        String v = env.get(name);
        if (v == null || v.isBlank()) return fallback;
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + "=" + v + " is not an integer");
        }
    }

    /** {@link #fromEnvironment(Map, String, Device)} with the process environment. */
    public static ProcessGroup fromEnvironment(Backend backend, Device device) {
        return fromEnvironment(System.getenv(), backend, device);
    }

    /**
     * The group this process belongs to: {@link #single()} unless launched with WORLD_SIZE > 1 and a LOCAL_RANK;
     * then, after the TCP rendezvous at MASTER_ADDR:MASTER_PORT, a {@link TcpProcessGroup} (backend cpu) or an NCCL
     * {@link NcclProcessGroup} (backend nccl, on a CUDA device).
     */
    public static ProcessGroup fromEnvironment(Map<String, String> env, String backend, Device device) {
        return fromEnvironment(env, Backend.parse(backend), device);
    }

    /** {@link #fromEnvironment(Map, String, Device)} with the backend parsed. */
    public static ProcessGroup fromEnvironment(Map<String, String> env, Backend backend, Device device) {
        Launch l = launch(env);
        if (!l.distributed()) return single();
        backend.checkDevice(device);
        if (backend == Backend.NCCL) {
            TcpProcessGroup rendezvous = TcpProcessGroup.connect(l.rank(), l.worldSize(), l.masterAddr(), l.masterPort(),
                    TcpProcessGroup.Options.fromEnvironment(env));
            try {
                return NcclProcessGroup.create(rendezvous, device);
            } catch (RuntimeException e) {
                rendezvous.close();
                throw e;
            }
        }
        return TcpProcessGroup.connect(l.rank(), l.worldSize(), l.masterAddr(), l.masterPort(), TcpProcessGroup.Options.fromEnvironment(env));
    }
}
