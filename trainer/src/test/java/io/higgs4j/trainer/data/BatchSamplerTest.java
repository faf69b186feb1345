package io.higgs4j.trainer.data;

import io.higgs4j.trainer.data.BatchSampler.Position;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class BatchSamplerTest {

    static int[] lengths(int n, long seed) {
        Random r = new Random(seed);
        int[] l = new int[n];
        for (int i = 0; i < n; i++) l[i] = 20 + r.nextInt(980);
        return l;
    }

    static List<List<Integer>> asLists(List<int[]> batches) {
        return batches.stream().map(b -> Arrays.stream(b).boxed().toList()).toList();
    }

    @Test
    void deterministicForASeedAndEpoch() {
        int[] l = lengths(203, 1);
        BatchSampler a = new BatchSampler(l, 8, 42), b = new BatchSampler(l, 8, 42);
        assertEquals(asLists(a.epoch(0)), asLists(b.epoch(0)));
        assertEquals(asLists(a.epoch(3)), asLists(b.epoch(3)));
        assertNotEquals(asLists(a.epoch(0)), asLists(a.epoch(1)), "each epoch is shuffled anew");
        assertNotEquals(asLists(a.epoch(0)), asLists(new BatchSampler(l, 8, 43).epoch(0)), "another seed, other batches");
        // The generator is fixed (SplitMix64), so these batches are the same on every JDK and in every version.
        assertEquals(List.of(List.of(3, 4), List.of(2, 0), List.of(1)),
                asLists(new BatchSampler(new int[] {5, 1, 5, 9, 7}, 2, 7, 50, false).epoch(0)));
    }

    @Test
    void everySampleOncePerEpoch() {
        int[] l = lengths(203, 2);
        BatchSampler s = new BatchSampler(l, 8, 0);
        assertEquals(26, s.batchesPerEpoch());
        for (int e = 0; e < 3; e++) {
            List<int[]> batches = s.epoch(e);
            assertEquals(26, batches.size());
            int[] all = batches.stream().flatMapToInt(Arrays::stream).sorted().toArray();
            assertArrayEquals(java.util.stream.IntStream.range(0, 203).toArray(), all);
            assertEquals(1, batches.stream().filter(b -> b.length != 8).count(), "one partial batch (203 = 25 * 8 + 3)");
        }
        BatchSampler drop = new BatchSampler(l, 8, 0, 50, true);
        assertEquals(25, drop.batchesPerEpoch());
        assertTrue(drop.epoch(0).stream().allMatch(b -> b.length == 8));
        assertEquals(25, drop.epoch(0).size());
    }

    @Test
    void lengthBucketingPadsLessThanRandomBatching() {
        int[] l = lengths(2000, 3);
        long bucketed = padding(new BatchSampler(l, 8, 5).epoch(0), l);
        long random = padding(new BatchSampler(l, 8, 5, 1, false).epoch(0), l);
        long tokens = Arrays.stream(l).sum();
        assertTrue(bucketed * 10 < random, "bucketed padding " + bucketed + " vs random " + random);
        assertTrue(bucketed < tokens / 20, "bucketed padding " + bucketed + " of " + tokens + " tokens");
        // Batches are still shuffled: neither sorted by length overall nor in window order.
        List<int[]> batches = new BatchSampler(l, 8, 5).epoch(0);
        int[] firstLengths = batches.stream().mapToInt(b -> l[b[0]]).toArray();
        int[] sorted = firstLengths.clone();
        Arrays.sort(sorted);
        assertFalse(Arrays.equals(firstLengths, sorted));
    }

    static long padding(List<int[]> batches, int[] l) {
        long pad = 0;
        for (int[] b : batches) {
            int max = Arrays.stream(b).map(i -> l[i]).max().orElse(0);
            for (int i : b) pad += max - l[i];
        }
        return pad;
    }

    @Test
    void resumesFromAPosition() {
        int[] l = lengths(50, 4);
        BatchSampler s = new BatchSampler(l, 4, 9);
        assertEquals(13, s.batchesPerEpoch());
        List<BatchSampler.Step> all = s.steps(Position.START, 3);
        assertEquals(39, all.size());
        List<BatchSampler.Step> resumed = s.steps(new Position(1, 5), 3);
        assertEquals(39 - 13 - 5, resumed.size());
        for (int i = 0; i < resumed.size(); i++) {
            BatchSampler.Step want = all.get(13 + 5 + i), got = resumed.get(i);
            assertEquals(want.position(), got.position());
            assertArrayEquals(want.indices(), got.indices());
        }
        assertEquals(new Position(1, 5), resumed.getFirst().position());
        assertArrayEquals(s.epoch(1).get(5), resumed.getFirst().indices());
        // A fresh sampler (a restarted process) gives the same batches.
        assertArrayEquals(new BatchSampler(l, 4, 9).epoch(2).get(7), s.steps(new Position(2, 7), 3).getFirst().indices());
        // next(): within an epoch, then to the next one.
        assertEquals(new Position(0, 1), s.next(Position.START));
        assertEquals(new Position(1, 0), s.next(new Position(0, 12)));
        // Walking with next() from any position visits the same steps.
        List<Position> walked = new ArrayList<>();
        for (Position p = new Position(1, 5); p.epoch() < 3; p = s.next(p)) walked.add(p);
        assertEquals(resumed.stream().map(BatchSampler.Step::position).toList(), walked);
        var e = assertThrows(IllegalArgumentException.class, () -> s.steps(new Position(0, 14), 1));
        assertTrue(e.getMessage().contains("past the 13 batches"), e.getMessage());
    }

    @Test
    void badArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new BatchSampler(new int[0], 8, 0));
        assertThrows(IllegalArgumentException.class, () -> new BatchSampler(new int[] {1}, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new BatchSampler(new int[] {1, 2}, 4, 0, 50, true));
        assertThrows(IllegalArgumentException.class, () -> new BatchSampler(new int[] {1}, 1, 0).epoch(-1));
    }
}
