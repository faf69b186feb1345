package io.higgs4j.trainer.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Seeded, length-bucketed, resumable batches of sample indices. For each epoch: shuffle the samples; cut the
 * shuffled order into windows of {@code windowBatches * batchSize} samples; sort each window by length (longest
 * first) and cut it into batches, so a batch holds samples of similar length and padding stays low; then shuffle the
 * batches. The result depends only on (lengths, batchSize, windowBatches, dropLast, seed, epoch), so a run resumes
 * exactly from a {@link Position} (epoch, batch index). {@code windowBatches = 1} is plain random batching.
 *
 * <p>Every sample appears once per epoch; the last batch of the last window may be smaller, unless dropLast.
 */
public final class BatchSampler {

    public static final int DEFAULT_WINDOW_BATCHES = 50;

    private final int[] lengths;
    private final int batchSize;
    private final long seed;
    private final int windowBatches;
    private final boolean dropLast;

    /** Where a run stands: the next batch to train is batch {@code batch} of epoch {@code epoch} (both from 0). */
    public record Position(int epoch, int batch) {
        public Position {
            if (epoch < 0 || batch < 0) throw new IllegalArgumentException("position (" + epoch + ", " + batch + ") must be >= 0");
        }

        public static final Position START = new Position(0, 0);
    }

    /** One batch and its position. */
    public record Step(Position position, int[] indices) { }

    public BatchSampler(int[] lengths, int batchSize, long seed) {
        this(lengths, batchSize, seed, DEFAULT_WINDOW_BATCHES, false);
    }

    public BatchSampler(int[] lengths, int batchSize, long seed, int windowBatches, boolean dropLast) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (windowBatches < 1) throw new IllegalArgumentException("windowBatches must be >= 1, got " + windowBatches);
        if (lengths.length == 0) throw new IllegalArgumentException("no sample to batch");
        if (dropLast && lengths.length < batchSize) {
            throw new IllegalArgumentException(lengths.length + " samples make no full batch of " + batchSize + " (dropLast)");
        }
        this.lengths = lengths.clone();
        this.batchSize = batchSize;
        this.seed = seed;
        this.windowBatches = windowBatches;
        this.dropLast = dropLast;
    }

    public int size() {
        return lengths.length;
    }

    public int batchSize() {
        return batchSize;
    }

    /** Batches in every epoch. */
    public int batchesPerEpoch() {
        return dropLast ? lengths.length / batchSize : (lengths.length + batchSize - 1) / batchSize;
    }

    /** The batches of an epoch, in training order: each an array of sample indices. */
    public List<int[]> epoch(int epoch) {
        if (epoch < 0) throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        SplitMix64 rng = new SplitMix64(seed * 0x9E3779B97F4A7C15L + epoch);
        int n = lengths.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        shuffle(order, rng);
        List<int[]> batches = new ArrayList<>();
        int window = (int) Math.min((long) windowBatches * batchSize, n);
        for (int from = 0; from < n; from += window) {
            Integer[] w = Arrays.copyOfRange(order, from, Math.min(n, from + window));
            Arrays.sort(w, Comparator.comparingInt((Integer i) -> lengths[i]).reversed()); // stable: ties keep shuffled order
            for (int b = 0; b < w.length; b += batchSize) {
                int[] batch = new int[Math.min(batchSize, w.length - b)];
                for (int j = 0; j < batch.length; j++) batch[j] = w[b + j];
                if (batch.length == batchSize || !dropLast) batches.add(batch);
            }
        }
        int[][] arr = batches.toArray(new int[0][]);
        shuffle(arr, rng);
        return List.of(arr);
    }

    /** The steps from a position to the end of epoch {@code epochs - 1}, in order. */
    public List<Step> steps(Position from, int epochs) {
        if (from.batch() > batchesPerEpoch()) {
            throw new IllegalArgumentException("resume position batch " + from.batch() + " is past the " + batchesPerEpoch()
                    + " batches of an epoch (has the data set or batch size changed?)");
        }
        List<Step> out = new ArrayList<>();
        for (int e = from.epoch(); e < epochs; e++) {
            List<int[]> batches = epoch(e);
            for (int b = e == from.epoch() ? from.batch() : 0; b < batches.size(); b++) out.add(new Step(new Position(e, b), batches.get(b)));
        }
        return out;
    }

    /** The position after a step: the next batch, or the first batch of the next epoch. */
    public Position next(Position p) {
        return p.batch() + 1 < batchesPerEpoch() ? new Position(p.epoch(), p.batch() + 1) : new Position(p.epoch() + 1, 0);
    }

    private static <T> void shuffle(T[] a, SplitMix64 rng) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            T t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** SplitMix64: a fixed, documented generator, so batches are the same on every JDK. */
    static final class SplitMix64 {
        private long state;

        SplitMix64(long seed) {
            state = seed;
        }

        long nextLong() {
            long z = (state += 0x9E3779B97F4A7C15L);
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }

        /** Uniform in [0, bound) (rejection sampling, no modulo bias). */
        int nextInt(int bound) {
            long limit = Long.MAX_VALUE - Long.MAX_VALUE % bound;
            long r;
            do {
                r = nextLong() >>> 1;
            } while (r >= limit);
            return (int) (r % bound);
        }
    }
}
