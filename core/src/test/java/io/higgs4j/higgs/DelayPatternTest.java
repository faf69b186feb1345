package io.higgs4j.higgs;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class DelayPatternTest {

    static final long BOS = 1024, EOS = 1025, X = -100;

    static final long[][] CODES = {{10, 11, 12}, {20, 21, 22}, {30, 31, 32}, {40, 41, 42}};

    /** docs/MODEL.md section 5, K=4, T=3, typed from it. */
    static final long[][] SPEC_INPUT = {
            {1024, 10, 11, 12, 1025, 1025, 1025, 1025},
            {1024, 1024, 20, 21, 22, 1025, 1025, 1025},
            {1024, 1024, 1024, 30, 31, 32, 1025, 1025},
            {1024, 1024, 1024, 1024, 40, 41, 42, 1025},
    };
    static final long[][] SPEC_LABEL = {
            {-100, 10, 11, 12, 1025, -100, -100, -100},
            {-100, -100, 20, 21, 22, 1025, -100, -100},
            {-100, -100, -100, 30, 31, 32, 1025, -100},
            {-100, -100, -100, -100, 40, 41, 42, 1025},
    };

    @Test
    void specExample() {
        assertArrayEquals(SPEC_INPUT, DelayPattern.build(CODES, BOS, EOS));
        assertArrayEquals(SPEC_LABEL, DelayPattern.buildLabels(CODES, EOS));
        assertArrayEquals(new long[][] {
                {1024, 10, 11, 12, 1025}, {1024, 20, 21, 22, 1025}, {1024, 30, 31, 32, 1025}, {1024, 40, 41, 42, 1025}},
                DelayPattern.revert(SPEC_INPUT, 4));
        assertArrayEquals(new long[][] {{-100, 10, 11, 12, 1025}, {-100, 20, 21, 22, 1025}, {-100, 30, 31, 32, 1025},
                {-100, 40, 41, 42, 1025}}, DelayPattern.revert(SPEC_LABEL));
        assertArrayEquals(CODES, DelayPattern.revertCodes(SPEC_INPUT));
        assertArrayEquals(CODES, DelayPattern.revertCodes(SPEC_LABEL));
        assertEquals(8, DelayPattern.delayedWidth(4, 3));
    }

    @Test
    void argumentsAreNotModified() {
        long[][] codes = {{1, 2}, {3, 4}};
        long[][] copy = {{1, 2}, {3, 4}};
        long[][] built = DelayPattern.build(codes, BOS, EOS);
        DelayPattern.buildLabels(codes, EOS);
        assertArrayEquals(copy, codes);
        long[][] reverted = DelayPattern.revert(built);
        reverted[0][0] = 7;
        assertEquals(BOS, built[0][0]);
    }

    @Test
    void revertUndoesBuildForRandomShapes() {
        Random rnd = new Random(42);
        for (int trial = 0; trial < 200; trial++) {
            int k = 1 + rnd.nextInt(9), t = rnd.nextInt(20);
            long[][] codes = new long[k][t];
            for (long[] row : codes) for (int c = 0; c < t; c++) row[c] = rnd.nextInt((int) BOS);
            long[][] in = DelayPattern.build(codes, BOS, EOS);
            long[][] lab = DelayPattern.buildLabels(codes, EOS);
            assertEquals(k, in.length);
            assertEquals(t + 2 + k - 1, in[0].length);
            assertEquals(t + 2 + k - 1, lab[k - 1].length);
            assertArrayEquals(DelayPattern.wrap(codes, BOS, EOS), DelayPattern.revert(in));
            assertArrayEquals(DelayPattern.wrap(codes, BOS, EOS), DelayPattern.revert(in, k));
            assertArrayEquals(codes, DelayPattern.revertCodes(in));
            assertArrayEquals(codes, DelayPattern.stripBosEos(DelayPattern.revert(lab)));
            for (int r = 0; r < k; r++) {
                assertEquals(X, DelayPattern.revert(lab)[r][0]);
                for (int c = 0; c < in[r].length; c++) {
                    // outside a row's span: BOS before, EOS after on the input side; -100 in the labels
                    if (c < r) { assertEquals(BOS, in[r][c]); assertEquals(X, lab[r][c]); }
                    if (c > r + t + 1) { assertEquals(EOS, in[r][c]); assertEquals(X, lab[r][c]); }
                }
            }
        }
    }

    @Test
    void emptyClip() {
        long[][] codes = new long[3][0];
        assertArrayEquals(new long[][] {
                {BOS, EOS, EOS, EOS},
                {BOS, BOS, EOS, EOS},
                {BOS, BOS, BOS, EOS}}, DelayPattern.build(codes, BOS, EOS));
        assertArrayEquals(new long[][] {
                {X, EOS, X, X},
                {X, X, EOS, X},
                {X, X, X, EOS}}, DelayPattern.buildLabels(codes, EOS));
        assertArrayEquals(codes, DelayPattern.revertCodes(DelayPattern.build(codes, BOS, EOS)));
    }

    @Test
    void oneCodebookHasNoDelay() {
        long[][] codes = {{5, 6, 7}};
        assertArrayEquals(new long[][] {{BOS, 5, 6, 7, EOS}}, DelayPattern.build(codes, BOS, EOS));
        assertArrayEquals(new long[][] {{X, 5, 6, 7, EOS}}, DelayPattern.buildLabels(codes, EOS));
        assertArrayEquals(codes, DelayPattern.revertCodes(DelayPattern.build(codes, BOS, EOS)));
    }

    @Test
    void unsupervisedLabelsAreAllIgnored() {
        long[][] u = DelayPattern.unsupervisedLabels(4, 3);
        assertEquals(4, u.length);
        for (long[] row : u) {
            assertEquals(8, row.length);
            for (long v : row) assertEquals(X, v);
        }
        assertEquals(3, DelayPattern.unsupervisedLabels(2, 0)[0].length);
        assertThrows(IllegalArgumentException.class, () -> DelayPattern.unsupervisedLabels(0, 3));
        assertThrows(IllegalArgumentException.class, () -> DelayPattern.unsupervisedLabels(2, -1));
    }

    @Test
    void invalidInputsAreRejected() {
        assertMessage("ragged", () -> DelayPattern.build(new long[][] {{1, 2}, {3}}, BOS, EOS));
        assertMessage("ragged", () -> DelayPattern.buildLabels(new long[][] {{1, 2}, {3}}, EOS));
        assertMessage("ragged", () -> DelayPattern.revert(new long[][] {{1, 2, 3}, {3, 4}}));
        assertMessage("K=0", () -> DelayPattern.build(new long[0][], BOS, EOS));
        assertMessage("K=0", () -> DelayPattern.buildLabels(new long[0][], EOS));
        assertMessage("K=0", () -> DelayPattern.revert(new long[0][]));
        assertMessage("outside [0, 1024)", () -> DelayPattern.build(new long[][] {{1, 1024}}, BOS, EOS));
        assertMessage("codebook 1, frame 0", () -> DelayPattern.build(new long[][] {{1}, {-1}}, BOS, EOS));
        assertMessage("outside [0, 1025)", () -> DelayPattern.buildLabels(new long[][] {{-100}}, EOS));
        assertMessage("null", () -> DelayPattern.build((long[][]) null, BOS, EOS));
        assertMessage("differ", () -> DelayPattern.build(new long[][] {{1}}, BOS, BOS));
        assertMessage("at least K+1", () -> DelayPattern.revert(new long[][] {{1, 2}, {3, 4}}));
        assertMessage("expected 3 rows", () -> DelayPattern.revert(SPEC_INPUT, 3));
        assertMessage("at least 2", () -> DelayPattern.stripBosEos(new long[][] {{1}}));
    }

    @Test
    void tensorOverloads() {
        try (Scope s = Scope.open()) {
            Tensor codes = Tensor.of(flat(CODES), 4, 3);
            Tensor in = DelayPattern.build(codes, BOS, EOS);
            assertEquals(DType.INT64, in.dtype());
            assertArrayEquals(new long[] {4, 8}, in.shape());
            assertArrayEquals(flat(SPEC_INPUT), in.toLongArray());

            Tensor lab = DelayPattern.buildLabels(codes, EOS);
            assertArrayEquals(new long[] {4, 8}, lab.shape());
            assertArrayEquals(flat(SPEC_LABEL), lab.toLongArray());

            Tensor wrapped = DelayPattern.revert(in);
            assertArrayEquals(new long[] {4, 5}, wrapped.shape());
            assertArrayEquals(flat(DelayPattern.wrap(CODES, BOS, EOS)), wrapped.toLongArray());
            Tensor back = DelayPattern.stripBosEos(wrapped);
            assertArrayEquals(new long[] {4, 3}, back.shape());
            assertArrayEquals(flat(CODES), back.toLongArray());
            assertArrayEquals(flat(CODES), DelayPattern.revertCodes(lab).toLongArray());

            // int32 codes are read as int64
            Tensor in32 = DelayPattern.build(codes.to(DType.INT32), BOS, EOS);
            assertEquals(DType.INT64, in32.dtype());
            assertArrayEquals(flat(SPEC_INPUT), in32.toLongArray());

            // T = 0
            Tensor empty = DelayPattern.build(Tensor.of(new long[0], 2, 0), BOS, EOS);
            assertArrayEquals(new long[] {2, 3}, empty.shape());
            assertArrayEquals(new long[] {BOS, EOS, EOS, BOS, BOS, EOS}, empty.toLongArray());
            assertArrayEquals(new long[] {2, 0}, DelayPattern.revertCodes(empty).shape());

            assertMessage("integer tensor", () -> DelayPattern.build(Tensor.zeros(2, 3), BOS, EOS));
            assertMessage("2-d", () -> DelayPattern.build(Tensor.of(new long[] {1, 2, 3}), BOS, EOS));
            assertMessage("K=0", () -> DelayPattern.build(Tensor.of(new long[0], 0, 3), BOS, EOS));
            assertMessage("outside", () -> DelayPattern.build(Tensor.of(new long[] {1, 2000}, 1, 2), BOS, EOS));
        }
    }

    static long[] flat(long[][] a) {
        return Arrays.stream(a).flatMapToLong(Arrays::stream).toArray();
    }

    static void assertMessage(String fragment, org.junit.jupiter.api.function.Executable body) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, body);
        assertTrue(e.getMessage().contains(fragment), () -> "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }
}
