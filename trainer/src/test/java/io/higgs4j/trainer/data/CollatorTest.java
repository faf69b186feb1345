package io.higgs4j.trainer.data;

import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The collator against arrays built by hand (docs/MODEL.md sections 5 and 7), with K = 4 codebooks, BOS 1024, EOS 1025, pad 128001. */
class CollatorTest {

    static final long X = -100, B = 1024, E = 1025, P = 128001;
    static final HiggsAudioConfig K4 = Fixtures.withCodebooks(Fixtures.realConfig(), 4, true);

    /** A: text, one audio-in clip (T=2) and one supervised audio-out clip (docs/MODEL.md section 5's K=4, T=3 example). */
    static EncodedSample a() {
        return new EncodedSample("a", "s1",
                new long[] {7, 8, 128011, 128015, 128012, 9, 128013, 128016, 128012, 128009},
                new long[] {X, X, X, X, X, X, 128013, 128016, 128012, 128009},
                List.of(new EncodedSample.Clip(AudioCodes.of(new long[][] {{1, 2}, {3, 4}, {5, 6}, {7, 8}}), false)),
                List.of(new EncodedSample.Clip(AudioCodes.of(new long[][] {{10, 11, 12}, {20, 21, 22}, {30, 31, 32}, {40, 41, 42}}), true)),
                10 - 2 + 7 + 8);
    }

    /** B: a shorter row with one unsupervised audio-out clip (T=1). */
    static EncodedSample b() {
        return new EncodedSample("b", "s2",
                new long[] {5, 128013, 128016, 128012, 6},
                new long[] {X, X, X, X, X},
                List.of(),
                List.of(new EncodedSample.Clip(AudioCodes.of(new long[][] {{100}, {200}, {300}, {400}}), false)),
                5 - 1 + 6);
    }

    @Test
    void textPaddingDelayPatternConcatenationAndAudioLabels() {
        Collated c = new Collator(K4).collate(List.of(a(), b()));
        // Text: right-padded with pad_token_id to 16 (10 rounded up to a multiple of 8), labels -100, mask 0.
        assertArrayEquals(new long[][] {
                {7, 8, 128011, 128015, 128012, 9, 128013, 128016, 128012, 128009, P, P, P, P, P, P},
                {5, 128013, 128016, 128012, 6, P, P, P, P, P, P, P, P, P, P, P}}, c.inputIds());
        assertArrayEquals(new long[][] {
                {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0},
                {1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}, c.attentionMask());
        assertArrayEquals(new long[][] {
                {X, X, X, X, X, X, 128013, 128016, 128012, 128009, X, X, X, X, X, X},
                {X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X}}, c.labelIds());
        // Audio in: [BOS | codes | EOS], row k shifted right by k: K x (T+K+1) = 4 x 7.
        assertArrayEquals(new long[][] {
                {B, 1, 2, E, E, E, E},
                {B, B, 3, 4, E, E, E},
                {B, B, B, 5, 6, E, E},
                {B, B, B, B, 7, 8, E}}, c.audioInIds());
        assertArrayEquals(new long[] {0}, c.audioInIdsStart());
        // Audio out: the example of docs/MODEL.md section 5 (8 columns) then B's clip (6 columns).
        assertArrayEquals(new long[][] {
                {B, 10, 11, 12, E, E, E, E, /**/ B, 100, E, E, E, E},
                {B, B, 20, 21, 22, E, E, E, /**/ B, B, 200, E, E, E},
                {B, B, B, 30, 31, 32, E, E, /**/ B, B, B, 300, E, E},
                {B, B, B, B, 40, 41, 42, E, /**/ B, B, B, B, 400, E}}, c.audioOutIds());
        assertArrayEquals(new long[] {0, 8}, c.audioOutIdsStart());
        // Labels: [-100 | codes | EOS] delayed, -100 fill; the unsupervised clip all -100.
        assertArrayEquals(new long[][] {
                {X, 10, 11, 12, E, X, X, X, /**/ X, X, X, X, X, X},
                {X, X, 20, 21, 22, E, X, X, /**/ X, X, X, X, X, X},
                {X, X, X, 30, 31, 32, E, X, /**/ X, X, X, X, X, X},
                {X, X, X, X, 40, 41, 42, E, /**/ X, X, X, X, X, X}}, c.labelAudioIds());
        // The model's rows: A 16 - 10 + 23 = 29, B 16 - 5 + 10 = 21.
        assertEquals(new Collated.TokenCounts(2, 15, 32, 23 + 10, 3, 16, 4, 29), c.counts());
    }

    @Test
    void theBatchTensorsAreInt64WithTheArraysValues() {
        try (Scope scope = Scope.open()) {
            Collated c = new Collator(K4).collate(List.of(a(), b()));
            HiggsAudioBatch batch = c.toBatch();
            assertEquals(DType.INT64, batch.inputIds().dtype());
            assertArrayEquals(new long[] {2, 16}, batch.inputIds().shape());
            assertArrayEquals(new long[] {2, 16}, batch.attentionMask().shape());
            assertArrayEquals(new long[] {2, 16}, batch.labelIds().shape());
            assertArrayEquals(new long[] {4, 7}, batch.audioInIds().shape());
            assertArrayEquals(new long[] {1}, batch.audioInIdsStart().shape());
            assertArrayEquals(new long[] {4, 14}, batch.audioOutIds().shape());
            assertArrayEquals(new long[] {0, 8}, batch.audioOutIdsStart().toLongArray());
            assertArrayEquals(new long[] {4, 14}, batch.labelAudioIds().shape());
            assertArrayEquals(flat(c.audioOutIds()), batch.audioOutIds().toLongArray());
            assertArrayEquals(flat(c.labelAudioIds()), batch.labelAudioIds().toLongArray());
            assertArrayEquals(flat(c.inputIds()), batch.inputIds().toLongArray());
            assertArrayEquals(flat(c.labelIds()), batch.labelIds().toLongArray());
        }
    }

    @Test
    void aTextOnlyBatchHasNoAudioFields() {
        EncodedSample t = new EncodedSample("t", null, new long[] {1, 2, 3, 4, 5, 6, 7, 8}, new long[] {X, 2, 3, 4, 5, 6, 7, 8},
                List.of(), List.of(), 8);
        Collated c = new Collator(K4).collate(List.of(t));
        assertEquals(8, c.seqLen(), "8 is already a multiple of 8");
        assertNull(c.audioInIds());
        assertNull(c.audioInIdsStart());
        assertNull(c.audioOutIds());
        assertNull(c.audioOutIdsStart());
        assertNull(c.labelAudioIds());
        try (Scope scope = Scope.open()) {
            HiggsAudioBatch batch = c.toBatch();
            assertNull(batch.audioOutIds());
            assertNull(batch.labelAudioIds());
        }
        assertEquals(new Collated.TokenCounts(1, 8, 8, 8, 7, 0, 0, 8), c.counts());
    }

    @Test
    void withoutTheDelayPatternClipsAreOnlyWrapped() {
        Collated c = new Collator(Fixtures.withCodebooks(Fixtures.realConfig(), 4, false), 1).collate(List.of(b()));
        assertEquals(5, c.seqLen(), "roundTo 1");
        assertArrayEquals(new long[][] {{B, 100, E}, {B, 200, E}, {B, 300, E}, {B, 400, E}}, c.audioOutIds());
        assertArrayEquals(new long[][] {{X, X, X}, {X, X, X}, {X, X, X}, {X, X, X}}, c.labelAudioIds());
        EncodedSample sup = new EncodedSample("s", null, b().inputIds(), new long[] {X, 128013, 128016, 128012, X}, List.of(),
                List.of(new EncodedSample.Clip(AudioCodes.of(new long[][] {{100}, {200}, {300}, {400}}), true)), 7);
        c = new Collator(Fixtures.withCodebooks(Fixtures.realConfig(), 4, false), 1).collate(List.of(sup));
        assertArrayEquals(new long[][] {{X, 100, E}, {X, 200, E}, {X, 300, E}, {X, 400, E}}, c.labelAudioIds());
    }

    @Test
    void aClipWithTheWrongCodebookCountIsAnErrorNamingTheSample() {
        EncodedSample bad = new EncodedSample("data.jsonl line 3", null, b().inputIds(), b().labels(), List.of(),
                List.of(new EncodedSample.Clip(AudioCodes.of(new long[][] {{1}, {2}}), false)), 6);
        DataException e = assertThrows(DataException.class, () -> new Collator(K4).collate(List.of(bad)));
        assertTrue(e.getMessage().contains("data.jsonl line 3") && e.getMessage().contains("2 codebooks"), e.getMessage());
    }

    static long[] flat(long[][] a) {
        return java.util.Arrays.stream(a).flatMapToLong(java.util.Arrays::stream).toArray();
    }
}
