package io.higgs4j.higgs;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The merge plan, checked position by position against the batch written out by hand. */
class AudioMergeTest {
    static final long A = 1015, O = 1016;

    @Test
    void placeholdersExpandInRowMajorOrderWithLabelsMasksAndRounding() {
        long[][] ids = {{5, A, 6, O, 7}, {8, O, 9, 0, 0}};
        long[][] mask = {{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}};
        long[][] labels = {{-100, -100, 6, -100, 7}, {-100, -100, 9, -100, -100}};
        // audio-in: one clip of 2 columns; audio-out: clips of 3 (row 0) and 1 (row 1) columns
        AudioMerge m = AudioMerge.plan(ids, mask, labels, new long[] {0}, 2, new long[] {0, 3}, 4, A, O, true, 8);
        assertEquals(8, m.length(), "row 0 has 1 + 2 + 1 + 3 + 1 = 8 positions");
        long text = 10, in = 10, out = 12, zero = 16;
        assertArrayEquals(new long[] {0, in, in + 1, 2, out, out + 1, out + 2, 4,
                5, out + 3, 7, 8, 9, zero, zero, zero}, m.source());
        assertArrayEquals(new long[] {-100, -100, -100, 6, -100, -100, -100, 7,
                -100, -100, 9, -100, -100, -100, -100, -100}, m.labels());
        assertArrayEquals(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}, m.attentionMask());
        assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 1, 1, 1, 1, 1}, m.positionIds());
        assertArrayEquals(new boolean[] {false, true, true, false, false, false, false, false,
                false, false, false, false, false, false, false, false}, m.audioIn());
        assertArrayEquals(new boolean[] {false, false, false, false, true, true, true, false,
                false, true, false, false, false, false, false, false}, m.audioOut());
        assertArrayEquals(new long[] {4, 5, 6, 9}, m.audioOutPositions());
        assertArrayEquals(new long[] {1, 2, 4, 5, 6, 9}, m.audioPositions());
        assertEquals(text, m.textRows());
    }

    @Test
    void noRoundingKeepsTheLongestRow() {
        AudioMerge m = AudioMerge.plan(new long[][] {{1, 2, 3}}, null, null, new long[0], 0, new long[0], 0, A, O, true, 1);
        assertEquals(3, m.length());
        assertArrayEquals(new long[] {0, 1, 2}, m.positionIds());
        assertArrayEquals(new long[] {-100, -100, -100}, m.labels());
    }

    @Test
    void placeholderAndClipCountsMustAgree() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> AudioMerge.plan(new long[][] {{1, O, O}}, null, null, new long[0], 0, new long[] {0}, 2, A, O, true, 1));
        assertTrue(e.getMessage().contains("AUDIO_OUT"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> AudioMerge.plan(new long[][] {{1, 2}}, null, null, new long[] {0}, 3, new long[0], 0, A, O, true, 1));
        assertTrue(e.getMessage().contains("audio_in_ids_start"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> AudioMerge.plan(new long[][] {{A}}, null, null, new long[] {4}, 3, new long[0], 0, A, O, true, 1));
        assertTrue(e.getMessage().contains("not increasing"), e.getMessage());
    }

    @Test
    void maskedPlaceholdersAreTextNotAudio() {
        // A placeholder id under mask 0 (padding) is not a clip.
        AudioMerge m = AudioMerge.plan(new long[][] {{1, A}}, new long[][] {{1, 0}}, null, new long[0], 0, new long[0], 0, A, O, true, 1);
        assertArrayEquals(new long[] {0, 1}, m.source());
    }

    /** With Whisper: each <|AUDIO|> becomes its Whisper tokens (text path) and then its code columns. */
    @Test
    void whisperTokensPrecedeTheCodeColumns() {
        long[][] ids = {{5, A, 6, A}};
        // two audio-in clips: 2 and 1 code columns; 3 and 2 Whisper tokens
        AudioMerge m = AudioMerge.plan(ids, null, null, new long[] {0, 2}, 3, new long[0], 0, A, O, true, new long[] {3, 2}, 1);
        long in = 4, whisper = 4 + 3; // table: 4 text rows, 3 audio-in columns, then 5 Whisper rows
        assertArrayEquals(new long[] {0, whisper, whisper + 1, whisper + 2, in, in + 1, 2, whisper + 3, whisper + 4, in + 2}, m.source());
        assertArrayEquals(new boolean[] {false, false, false, false, true, true, false, false, false, true}, m.audioIn(),
                "Whisper positions take the text path");
        assertEquals(whisper + 5, m.zeroRow());
        // Whisper without code tokens: only the Whisper rows.
        AudioMerge w = AudioMerge.plan(ids, null, null, new long[0], 0, new long[0], 0, A, O, false, new long[] {1, 1}, 1);
        assertArrayEquals(new long[] {0, 4, 2, 5}, w.source());
        var e = assertThrows(IllegalArgumentException.class,
                () -> AudioMerge.plan(ids, null, null, new long[0], 0, new long[0], 0, A, O, false, new long[] {1}, 1));
        assertTrue(e.getMessage().contains("Whisper features"), e.getMessage());
    }
}
