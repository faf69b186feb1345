package io.higgs4j.trainer.data;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One data-parallel rank's share of the training batches, each loaded one batch ahead on a background thread (as a
 * data-loader worker would), so the training thread finds the next batch's arrays ready.
 *
 * <p>Sharding: rank r of W reads the batches whose index in the global order of an epoch is r mod W (local index i is
 * global index {@code i * W + r}, see {@link #globalIndex}). The global order is the same on every rank (the sampler's,
 * reshuffled every epoch from the seed). Every rank gets floor(N / W) batches per epoch, so all ranks take the same
 * number of steps; the last N mod W batches of an epoch's global order are dropped (in that epoch only: the next
 * epoch's shuffle puts other batches last).
 *
 * <p>Loading is split in two: {@code load} (reading and collating into Java arrays) runs on the prefetch thread, always
 * there, one call at a time, so what it caches needs no lock; {@code open} (making tensors) runs on the caller's thread,
 * in its scope, as tensors must. After the batch of (epoch, i) the next one is loaded ahead: (epoch, i + 1), or after
 * an epoch's last batch the first of the next epoch, in that epoch's own order. Asking for any other batch (a resume)
 * loads it while the caller waits. {@link #close} shuts the prefetch thread down; a closed source loads nothing more.
 */
public final class ShardedBatches implements BatchSource, AutoCloseable {

    /**
     * A global batch: load runs on the prefetch thread (reading, collating) and returns what makes the batch's tensors,
     * which runs on the caller's thread, in its scope.
     */
    @FunctionalInterface
    private interface Loader {
        Supplier<Batch> load(int epoch, int globalIndex);
    }

    private final Loader loader;
    private final int globalBatches, rank, world;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "higgs4j-collate");
        t.setDaemon(true); // a run that ends without close() must not be kept alive by an idle loader
        return t;
    });
    private int nextEpoch = -1, nextIndex = -1;
    private CompletableFuture<Supplier<Batch>> next;

    private ShardedBatches(int globalBatches, Loader loader, int rank, int world) {
        if (world < 1 || rank < 0 || rank >= world) throw new IllegalArgumentException("rank " + rank + " of world " + world);
        if (globalBatches < world) {
            throw new IllegalArgumentException(globalBatches + " batches per epoch cannot feed " + world
                    + " ranks: use more data or a smaller --batch_size");
        }
        this.globalBatches = globalBatches;
        this.loader = loader;
        this.rank = rank;
        this.world = world;
    }

    /** What the trainer reads: the sampler's batches of the validated samples, collated ahead into arrays. */
    public static ShardedBatches collating(BatchSampler sampler, Collator collator, DataValidator.Result data, int rank, int world) {
        return sampled(sampler, indices -> collator.collate(data.batch(indices)),
                c -> new Batch(c.toBatch(), c.counts().mergedTokens()), rank, world);
    }

    /**
     * The sampler's batches of sample indices: load turns a batch's indices into something made ahead (on the prefetch
     * thread), open turns that into the batch (on the caller's thread).
     */
    public static <T> ShardedBatches sampled(BatchSampler sampler, Function<int[], T> load, Function<T, Batch> open, int rank, int world) {
        return new ShardedBatches(sampler.batchesPerEpoch(), new Loader() {
            // touched by the prefetch thread only: an epoch's order is computed once, not per batch
            private int cachedEpoch = -1;
            private List<int[]> order;

            @Override public Supplier<Batch> load(int epoch, int globalIndex) {
                if (epoch != cachedEpoch) {
                    order = sampler.epoch(epoch);
                    cachedEpoch = epoch;
                }
                T loaded = load.apply(order.get(globalIndex));
                return () -> open.apply(loaded);
            }
        }, rank, world);
    }

    /**
     * A share of batches that are made as tensors (on the caller's thread, when asked for): nothing is loaded ahead
     * but the position. For sources that compute their batches, as tests do.
     */
    public static ShardedBatches of(BatchSource global, int rank, int world) {
        return new ShardedBatches(global.batchesPerEpoch(), (epoch, globalIndex) -> () -> global.batch(epoch, globalIndex), rank, world);
    }

    /** The global index of a rank's local batch index. */
    public static int globalIndex(int localIndex, int rank, int world) {
        return localIndex * world + rank;
    }

    @Override
    public int batchesPerEpoch() {
        return globalBatches / world;
    }

    @Override
    public Batch batch(int epoch, int index) {
        if (epoch < 0 || index < 0 || index >= batchesPerEpoch()) {
            throw new IndexOutOfBoundsException("batch " + index + " of " + batchesPerEpoch() + " in epoch " + epoch);
        }
        boolean prefetched = next != null && epoch == nextEpoch && index == nextIndex;
        if (next != null && !prefetched) next.cancel(false); // not wanted: it must not delay this batch's load
        CompletableFuture<Supplier<Batch>> loading = prefetched ? next : submit(epoch, index);
        boolean last = index + 1 == batchesPerEpoch();
        nextEpoch = last ? epoch + 1 : epoch;
        nextIndex = last ? 0 : index + 1;
        next = submit(nextEpoch, nextIndex); // queued behind this batch's load on the one thread, so it never delays it
        return await(loading).get();
    }

    private CompletableFuture<Supplier<Batch>> submit(int epoch, int index) {
        int g = globalIndex(index, rank, world);
        return CompletableFuture.supplyAsync(() -> loader.load(epoch, g), worker);
    }

    private static Supplier<Batch> await(CompletableFuture<Supplier<Batch>> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while collating", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
    }

    /** Stops the prefetch thread (a batch being loaded ahead is abandoned). */
    @Override
    public void close() {
        worker.shutdownNow();
    }
}
