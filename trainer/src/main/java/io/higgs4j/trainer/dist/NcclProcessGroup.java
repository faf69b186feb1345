package io.higgs4j.trainer.dist;

import io.higgs4j.nccl.NcclCommunicator;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Tensor;

import java.util.List;

/**
 * The NCCL backend: tensors are reduced and broadcast by NCCL on the device (on libtorch's current stream), while the
 * TCP rendezvous group that published NCCL's unique id stays for the small host-side exchanges (loss numbers, flags,
 * barrier) and for telling the other ranks about a failure. Made by {@link ProcessGroups#fromEnvironment} for
 * {@code --backend nccl}.
 */
public final class NcclProcessGroup implements ProcessGroup {

    private final TcpProcessGroup tcp;
    private final NcclCommunicator comm;

    private NcclProcessGroup(TcpProcessGroup tcp, NcclCommunicator comm) {
        this.tcp = tcp;
        this.comm = comm;
    }

    /** Rank 0 makes NCCL's unique id and publishes it over the rendezvous; every rank then joins the communicator. */
    public static ProcessGroup create(TcpProcessGroup rendezvous, Device device) {
        Backend.NCCL.checkDevice(device);
        byte[] id = rendezvous.exchangeUniqueId(rendezvous.rank() == 0 ? NcclCommunicator.uniqueId() : null);
        try {
            return new NcclProcessGroup(rendezvous, NcclCommunicator.create(id, rendezvous.worldSize(), rendezvous.rank(), device.index()));
        } catch (RuntimeException e) {
            rendezvous.abort("rank " + rendezvous.rank() + " could not join NCCL: " + e.getMessage());
            throw e;
        }
    }

    @Override public int rank() { return tcp.rank(); }

    @Override public int worldSize() { return tcp.worldSize(); }

    @Override
    public void allReduceMean(List<Tensor> tensors) {
        comm.groupStart();
        try {
            for (Tensor t : tensors) comm.allReduce(t, NcclCommunicator.ReduceOp.AVG);
        } finally {
            comm.groupEnd();
        }
        comm.checkAsyncError();
    }

    @Override
    public double[] allReduceMean(double[] values) {
        return tcp.allReduceMean(values);
    }

    @Override
    public void broadcast(List<Tensor> tensors, int root) {
        comm.groupStart();
        try {
            for (Tensor t : tensors) comm.broadcast(t, root);
        } finally {
            comm.groupEnd();
        }
        comm.checkAsyncError();
    }

    @Override
    public void barrier() {
        tcp.barrier();
    }

    @Override
    public void abort(String reason) {
        try {
            comm.abort();
        } catch (RuntimeException ignored) {
            // the communicator may already be broken; the TCP group still tells the others
        }
        tcp.abort(reason);
    }

    @Override
    public void close() {
        comm.close();
        tcp.close();
    }
}
