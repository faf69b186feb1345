package io.higgs4j.trainer.train;

/**
 * One rank's share of a batch source: rank r of W reads the batches whose index in the global order of an epoch is
 * r mod W (local index i is global index i * W + r). The global order is the sampler's, reshuffled every epoch from
 * the seed, the same on every rank. Every rank gets floor(N / W) batches per epoch, so all ranks take the same
 * number of steps; the last N mod W batches of an epoch are dropped.
 */
public final class DistributedBatches implements BatchSource {
    private final BatchSource global;
    private final int rank, world;

    public DistributedBatches(BatchSource global, int rank, int world) {
        if (world < 1 || rank < 0 || rank >= world) throw new IllegalArgumentException("rank " + rank + " of world " + world);
        if (global.batchesPerEpoch() < world) {
            throw new IllegalArgumentException(global.batchesPerEpoch() + " batches per epoch cannot feed " + world
                    + " ranks: use more data or a smaller --batch_size");
        }
        this.global = global;
        this.rank = rank;
        this.world = world;
    }

    /** The global index of this rank's local batch index. */
    public static int globalIndex(int localIndex, int rank, int world) {
        return localIndex * world + rank;
    }

    @Override
    public int batchesPerEpoch() {
        return global.batchesPerEpoch() / world;
    }

    @Override
    public Batch batch(int epoch, int index) {
        if (index < 0 || index >= batchesPerEpoch()) throw new IndexOutOfBoundsException("batch " + index + " of " + batchesPerEpoch());
        return global.batch(epoch, globalIndex(index, rank, world));
    }
}
