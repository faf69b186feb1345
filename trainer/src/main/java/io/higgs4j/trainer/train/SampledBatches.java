package io.higgs4j.trainer.train;

import io.higgs4j.trainer.data.BatchSampler;
import io.higgs4j.trainer.data.Collated;
import io.higgs4j.trainer.data.Collator;
import io.higgs4j.trainer.data.DataValidator;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The sampler's batches, collated on a background thread one batch ahead (as a data-loader worker would), so the
 * training thread finds the next batch's arrays ready; tensors are made on the training thread, in its scope.
 */
public final class SampledBatches implements BatchSource, AutoCloseable {
    private final BatchSampler sampler;
    private final Collator collator;
    private final DataValidator.Result data;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "higgs4j-collate");
        t.setDaemon(true);
        return t;
    });
    private int cachedEpoch = -1;
    private List<int[]> order;
    private int nextEpoch = -1, nextIndex = -1;
    private CompletableFuture<Collated> next;
    private final int rank, world;

    public SampledBatches(BatchSampler sampler, Collator collator, DataValidator.Result data) {
        this(sampler, collator, data, 0, 1);
    }

    /**
     * Rank rank's share of the sampler's batches out of world ranks: local batch i is global batch i * world + rank of
     * the epoch (see {@link DistributedBatches}); floor(N / world) per epoch, the rest dropped.
     */
    public SampledBatches(BatchSampler sampler, Collator collator, DataValidator.Result data, int rank, int world) {
        if (world < 1 || rank < 0 || rank >= world) throw new IllegalArgumentException("rank " + rank + " of world " + world);
        if (sampler.batchesPerEpoch() < world) {
            throw new IllegalArgumentException(sampler.batchesPerEpoch() + " batches per epoch cannot feed " + world
                    + " ranks: use more data or a smaller --batch_size");
        }
        this.sampler = sampler;
        this.collator = collator;
        this.data = data;
        this.rank = rank;
        this.world = world;
    }

    @Override
    public int batchesPerEpoch() {
        return sampler.batchesPerEpoch() / world;
    }

    @Override
    public Batch batch(int epoch, int index) {
        Collated c;
        if (next != null && epoch == nextEpoch && index == nextIndex) {
            try {
                c = next.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while collating", e);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            }
        } else {
            c = collate(epoch, index);
        }
        int e2 = index + 1 < batchesPerEpoch() ? epoch : epoch + 1, i2 = index + 1 < batchesPerEpoch() ? index + 1 : 0;
        nextEpoch = e2;
        nextIndex = i2;
        List<int[]> nextOrder = orderOf(e2);
        int g2 = i2 * world + rank;
        next = CompletableFuture.supplyAsync(() -> collator.collate(data.batch(nextOrder.get(g2))), worker);
        return new Batch(c.toBatch(), c.counts().mergedTokens());
    }

    private Collated collate(int epoch, int index) {
        return collator.collate(data.batch(orderOf(epoch).get(index * world + rank)));
    }

    private List<int[]> orderOf(int epoch) {
        if (epoch != cachedEpoch) {
            order = sampler.epoch(epoch);
            cachedEpoch = epoch;
        }
        return order;
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
