package io.higgs4j.trainer.dist;

import io.higgs4j.torch.Tensor;

import java.util.List;

/**
 * The ranks of one data-parallel run and their collectives. Every rank must call the same collectives in the same
 * order with tensors of the same shapes and dtypes. Results are identical on every rank.
 *
 * <p>Implementations: {@link ProcessGroups#single()} (one process; everything is a no-op), {@link TcpProcessGroup}
 * ({@code --backend cpu}: sockets through rank 0) and {@link NcclProcessGroup} ({@code --backend nccl}: NCCL on the
 * CUDA devices, beside the TCP rendezvous group).
 */
public interface ProcessGroup extends AutoCloseable {

    int rank();

    int worldSize();

    default boolean isMain() {
        return rank() == 0;
    }

    /** Replaces every tensor, in place, by the mean of that tensor over all ranks. Floating-point tensors only. */
    void allReduceMean(List<Tensor> tensors);

    /** The element-wise mean of values over all ranks (losses, token counts, flags); a new array, the same on every rank. */
    double[] allReduceMean(double[] values);

    /** Copies root's tensors, in place, into every other rank's tensors of the same shapes and dtypes. */
    void broadcast(List<Tensor> tensors, int root);

    /** Returns once every rank has called it. */
    void barrier();

    /**
     * Tells the other ranks that this one failed (they fail fast, naming this rank and the reason, instead of
     * waiting in their next collective) and releases this rank's connections. Never throws.
     */
    void abort(String reason);

    @Override
    void close();
}
