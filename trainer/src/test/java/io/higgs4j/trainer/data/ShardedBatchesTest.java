package io.higgs4j.trainer.data;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

class ShardedBatchesTest {

    /** A rank's share of a sampler whose batches are their sample indices; every opened batch is added to opened. */
    static ShardedBatches indices(BatchSampler sampler, List<int[]> opened, int rank, int world) {
        return ShardedBatches.sampled(sampler, idx -> idx, idx -> {
            opened.add(idx);
            return new BatchSource.Batch(null, idx.length);
        }, rank, world);
    }

    @Test
    void theRanksPartitionEachEpochAndDropOnlyTheRemainder() {
        // (samples, batch size): batches of equal and of unequal sizes, counts that do and do not divide by the world
        int[][] cases = {{10, 3}, {11, 2}, {7, 1}, {12, 4}};
        for (int[] c : cases) {
            int n = c[0], batchSize = c[1];
            int batches = (n + batchSize - 1) / batchSize; // the last batch may be short: nothing is dropped by the sampler
            BatchSampler sampler = new BatchSampler(BatchSamplerTest.lengths(n, n), batchSize, 5, 1, false);
            for (int world = 1; world <= 3; world++) {
                for (int epoch = 0; epoch < 2; epoch++) {
                    List<Integer> seen = new ArrayList<>();
                    for (int rank = 0; rank < world; rank++) {
                        List<int[]> opened = new ArrayList<>();
                        try (ShardedBatches share = indices(sampler, opened, rank, world)) {
                            assertEquals(batches / world, share.batchesPerEpoch(), "every rank takes floor(batches / world)");
                            for (int i = 0; i < share.batchesPerEpoch(); i++) share.batch(epoch, i);
                        }
                        opened.forEach(b -> Arrays.stream(b).forEach(seen::add));
                    }
                    String where = n + " samples in batches of " + batchSize + ", world " + world + ", epoch " + epoch;
                    assertEquals(seen.size(), new HashSet<>(seen).size(), where + ": no sample twice");
                    // The remainder: the last (batches mod world) batches of the epoch's global order go to no rank.
                    List<int[]> order = sampler.epoch(epoch);
                    Set<Integer> dropped = order.subList(batches - batches % world, batches).stream()
                            .flatMapToInt(Arrays::stream).boxed().collect(Collectors.toSet());
                    if (world == 1) assertTrue(dropped.isEmpty(), where);
                    Set<Integer> all = new HashSet<>(seen);
                    assertTrue(Collections.disjoint(all, dropped), where + ": a dropped batch was read");
                    all.addAll(dropped);
                    assertEquals(IntStream.range(0, n).boxed().collect(Collectors.toSet()), all,
                            where + ": every sample read or in a dropped batch, none lost");
                }
            }
        }
        // 10 samples in batches of 3 make 4 batches; on 3 ranks each reads 1 and the epoch's last batch is dropped
        try (ShardedBatches s = indices(new BatchSampler(new int[10], 3, 5), new ArrayList<>(), 2, 3)) {
            assertEquals(1, s.batchesPerEpoch());
        }
    }

    @Test
    void localIndexIMapsToGlobalIndexIWorldPlusRank() {
        BatchSampler sampler = new BatchSampler(BatchSamplerTest.lengths(9, 1), 1, 3, 1, false); // 9 batches of one sample
        List<int[]> opened = new ArrayList<>();
        try (ShardedBatches share = indices(sampler, opened, 1, 4)) {
            assertEquals(2, share.batchesPerEpoch(), "9 batches on 4 ranks: 2 each, 1 dropped");
            share.batch(0, 0);
            share.batch(0, 1);
            share.batch(1, 1);
        }
        List<int[]> e0 = sampler.epoch(0), e1 = sampler.epoch(1);
        assertArrayEquals(e0.get(1), opened.get(0));
        assertArrayEquals(e0.get(5), opened.get(1));
        assertArrayEquals(e1.get(5), opened.get(2));
        assertEquals(7, ShardedBatches.globalIndex(2, 3, 2));
    }

    @Test
    void prefetchCrossesTheEpochBoundaryIntoTheNextEpochsOwnOrder() throws Exception {
        BatchSampler sampler = new BatchSampler(BatchSamplerTest.lengths(40, 4), 4, 9, 1, false); // 10 batches of 4
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        List<int[]> opened = new ArrayList<>();
        int rank = 1, world = 2;
        try (ShardedBatches share = ShardedBatches.sampled(sampler, idx -> {
            events.add("load " + Arrays.toString(idx));
            return idx;
        }, idx -> {
            opened.add(idx);
            return new BatchSource.Batch(null, idx.length);
        }, rank, world)) {
            int perEpoch = share.batchesPerEpoch();
            assertEquals(5, perEpoch);
            for (int i = 0; i < perEpoch; i++) share.batch(0, i);
            // the next epoch's first batch of this rank is global batch 1 of epoch 1's order
            String firstOfNext = "load " + Arrays.toString(sampler.epoch(1).get(rank));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!events.contains(firstOfNext)) {
                assertTrue(System.nanoTime() < deadline, "epoch 1's first batch is never loaded ahead: " + events);
                Thread.sleep(5);
            }
            events.add("ask epoch 1 batch 0");
            share.batch(1, 0);
            assertEquals(1, events.stream().filter(firstOfNext::equals).count(), "the batch loaded ahead is the one used, not loaded again");
            assertTrue(events.indexOf(firstOfNext) < events.indexOf("ask epoch 1 batch 0"));
            share.batch(1, 1);
        }
        List<int[]> e0 = sampler.epoch(0), e1 = sampler.epoch(1);
        for (int i = 0; i < 5; i++) assertArrayEquals(e0.get(i * world + rank), opened.get(i), "epoch 0, local batch " + i);
        assertArrayEquals(e1.get(rank), opened.get(5), "epoch 1's first batch, in epoch 1's order");
        assertArrayEquals(e1.get(world + rank), opened.get(6));
        assertFalse(Arrays.equals(e0.get(rank), e1.get(rank)), "the two epochs' orders differ, so the test tells them apart");
    }

    @Test
    void closeStopsThePrefetchThread() throws Exception {
        Thread[] loader = new Thread[1];
        ShardedBatches share = ShardedBatches.sampled(new BatchSampler(new int[8], 2, 1), idx -> {
            loader[0] = Thread.currentThread();
            return idx;
        }, idx -> new BatchSource.Batch(null, idx.length), 0, 1);
        share.batch(0, 0);
        Thread t = loader[0];
        assertNotNull(t);
        assertNotSame(Thread.currentThread(), t, "batches are loaded on a thread of their own");
        assertTrue(t.isAlive());
        share.close();
        t.join(10_000);
        assertFalse(t.isAlive(), "the prefetch thread ends with close()");
        assertThrows(java.util.concurrent.RejectedExecutionException.class, () -> share.batch(0, 1), "a closed source loads nothing");
    }

    @Test
    void aLoadFailureReachesTheCallerAndBadSharesAreRefused() {
        try (ShardedBatches share = ShardedBatches.sampled(new BatchSampler(new int[4], 1, 1), idx -> {
            throw new DataException("unreadable " + idx[0]);
        }, idx -> new BatchSource.Batch(null, 1), 0, 1)) {
            assertTrue(assertThrows(DataException.class, () -> share.batch(0, 0)).getMessage().startsWith("unreadable"));
            assertThrows(IndexOutOfBoundsException.class, () -> share.batch(0, 4));
        }
        BatchSampler three = new BatchSampler(new int[3], 1, 1);
        var e = assertThrows(IllegalArgumentException.class, () -> indices(three, new ArrayList<>(), 0, 4));
        assertEquals("3 batches per epoch cannot feed 4 ranks: use more data or a smaller --batch_size", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> indices(three, new ArrayList<>(), 3, 3));
    }
}
