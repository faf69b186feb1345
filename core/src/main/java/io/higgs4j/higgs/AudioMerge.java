package io.higgs4j.higgs;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where every position of the merged sequence comes from. Each {@code <|AUDIO|>} / {@code <|AUDIO_OUT|>}
 * placeholder is replaced by the columns of its clip (clips matched to placeholders in row-major order); text
 * positions keep their token, label and mask; audio positions get label -100 and mask 1; rows are padded at the
 * end to a common length rounded up to a multiple of {@code roundTo}. Computed in Java from the batch's small
 * integer tensors; the model then gathers embeddings with one index_select.
 *
 * <p>Source indices point into one table: text tokens [0, B*S), audio-in columns [B*S, B*S+Nin), audio-out columns
 * after those, and one zero row last, used for padding.
 */
public record AudioMerge(int batch, int length, long[] source, long[] labels, long[] attentionMask, long[] positionIds,
                         boolean[] audioIn, boolean[] audioOut, long textRows, long audioInColumns, long audioOutColumns,
                         long whisperRows) {

    /** Index of the zero row in the source table (the last one), which padding positions take. */
    public long zeroRow() {
        return textRows + audioInColumns + audioOutColumns + whisperRows;
    }

    /** Flat positions (b * length + i) of the audio positions (in or out), and of all the others. */
    public long[] audioPositions() {
        return positions(true);
    }

    /** Flat positions (b * length + i) of the text positions (everything that is not audio, padding included). */
    public long[] textPositions() {
        return positions(false);
    }

    private long[] positions(boolean audio) {
        long[] out = new long[source.length];
        int n = 0;
        for (int i = 0; i < source.length; i++) if ((audioIn[i] || audioOut[i]) == audio) out[n++] = i;
        return Arrays.copyOf(out, n);
    }

    /** Flat positions of the audio-out columns, in merged order (which is their column order). */
    public long[] audioOutPositions() {
        long[] out = new long[source.length];
        int n = 0;
        for (int i = 0; i < source.length; i++) if (audioOut[i]) out[n++] = i;
        return Arrays.copyOf(out, n);
    }

    /** Clip lengths from start columns: each clip runs to the next one's start, the last to total. */
    static long[] clipLengths(String what, long[] starts, long total) {
        long[] lengths = new long[starts.length];
        for (int i = 0; i < starts.length; i++) {
            long end = i + 1 < starts.length ? starts[i + 1] : total;
            if (starts[i] < 0 || end < starts[i] || end > total) {
                throw new IllegalArgumentException(what + "_start " + Arrays.toString(starts) + " is not increasing within the "
                        + total + " columns of " + what);
            }
            lengths[i] = end - starts[i];
        }
        return lengths;
    }

    /** The plan for a batch without Whisper frames. */
    public static AudioMerge plan(long[][] inputIds, long[][] mask, long[][] labels, long[] audioInStarts, long audioInColumns,
                                  long[] audioOutStarts, long audioOutColumns, long audioInToken, long audioOutToken,
                                  boolean encodeAudioInTokens, int roundTo) {
        return plan(inputIds, mask, labels, audioInStarts, audioInColumns, audioOutStarts, audioOutColumns, audioInToken,
                audioOutToken, encodeAudioInTokens, null, roundTo);
    }

    /**
     * With whisperTokens (the number of Whisper tokens of each audio-in clip, or null without Whisper), each
     * {@code <|AUDIO|>} becomes its clip's Whisper tokens (text path, label -100) followed by its code columns when
     * encodeAudioInTokens. Whisper rows sit in the table after the audio-out columns, clip after clip.
     */
    public static AudioMerge plan(long[][] inputIds, long[][] mask, long[][] labels, long[] audioInStarts, long audioInColumns,
                                  long[] audioOutStarts, long audioOutColumns, long audioInToken, long audioOutToken,
                                  boolean encodeAudioInTokens, long[] whisperTokens, int roundTo) {
        int b = inputIds.length, s = b == 0 ? 0 : inputIds[0].length;
        long[] inLen = clipLengths("audio_in_ids", audioInStarts, audioInColumns);
        int inClips = whisperTokens != null ? whisperTokens.length : inLen.length;
        if (whisperTokens != null && encodeAudioInTokens && inLen.length != whisperTokens.length) {
            throw new IllegalArgumentException("audio_in_ids_start lists " + inLen.length + " clips but the Whisper features "
                    + whisperTokens.length);
        }
        long[] whisperOffset = new long[inClips];
        long whisperRows = 0;
        for (int i = 0; whisperTokens != null && i < inClips; i++) {
            whisperOffset[i] = whisperRows;
            whisperRows += whisperTokens[i];
        }
        long whisperBase = (long) b * s + audioInColumns + audioOutColumns;
        long[] outLen = clipLengths("audio_out_ids", audioOutStarts, audioOutColumns);
        List<long[]> rows = new ArrayList<>(); // per row: flattened (label, mask, kind, source) records
        int nextIn = 0, nextOut = 0, longest = 0;
        for (int r = 0; r < b; r++) {
            if (inputIds[r].length != s) throw new IllegalArgumentException("input_ids rows differ in length");
            LongList row = new LongList();
            for (int p = 0; p < s; p++) {
                long tok = inputIds[r][p];
                long m = mask == null ? 1 : mask[r][p];
                if (m != 0 && tok == audioInToken) {
                    if (nextIn >= inClips) throw new IllegalArgumentException("input_ids hold more <|AUDIO|> placeholders than the "
                            + inClips + " audio-in clips of " + (whisperTokens != null ? "the Whisper features" : "audio_in_ids_start"));
                    if (whisperTokens != null) {
                        for (long w = 0; w < whisperTokens[nextIn]; w++) row.add(-100, 1, 0, whisperBase + whisperOffset[nextIn] + w);
                    }
                    if (encodeAudioInTokens && nextIn < inLen.length) {
                        for (long c = 0; c < inLen[nextIn]; c++) row.add(-100, 1, 1, (long) b * s + audioInStarts[nextIn] + c);
                    }
                    nextIn++;
                } else if (m != 0 && tok == audioOutToken) {
                    if (nextOut >= outLen.length) throw new IllegalArgumentException("input_ids hold more <|AUDIO_OUT|> placeholders than the "
                            + outLen.length + " audio-out clips of audio_out_ids_start");
                    for (long c = 0; c < outLen[nextOut]; c++) {
                        row.add(-100, 1, 2, (long) b * s + audioInColumns + audioOutStarts[nextOut] + c);
                    }
                    nextOut++;
                } else {
                    row.add(labels == null ? -100 : labels[r][p], m, 0, (long) r * s + p);
                }
            }
            rows.add(row.toArray());
            longest = Math.max(longest, row.size());
        }
        if (nextIn != inClips) throw new IllegalArgumentException((whisperTokens != null ? "the Whisper features list " : "audio_in_ids_start lists ")
                + inClips + " clips but input_ids hold " + nextIn + " <|AUDIO|> placeholders");
        if (nextOut != outLen.length) throw new IllegalArgumentException("audio_out_ids_start lists " + outLen.length
                + " clips but input_ids hold " + nextOut + " <|AUDIO_OUT|> placeholders");
        int length = roundTo > 1 ? (longest + roundTo - 1) / roundTo * roundTo : longest;
        long zero = (long) b * s + audioInColumns + audioOutColumns + whisperRows;
        long[] source = new long[b * length], lab = new long[b * length], att = new long[b * length], pos = new long[b * length];
        boolean[] in = new boolean[b * length], out = new boolean[b * length];
        for (int r = 0; r < b; r++) {
            long[] row = rows.get(r);
            int n = row.length / LongList.WIDTH;
            long seen = 0;
            for (int i = 0; i < length; i++) {
                int k = r * length + i;
                if (i < n) {
                    lab[k] = row[i * LongList.WIDTH];
                    att[k] = row[i * LongList.WIDTH + 1];
                    long kind = row[i * LongList.WIDTH + 2];
                    source[k] = row[i * LongList.WIDTH + 3];
                    in[k] = kind == 1;
                    out[k] = kind == 2;
                } else {
                    source[k] = zero;
                    lab[k] = -100;
                }
                // Position ids: cumulative sum of the mask minus one; padding gets 1, as in the reference.
                seen += att[k];
                pos[k] = att[k] == 0 ? 1 : seen - 1;
            }
        }
        return new AudioMerge(b, length, source, lab, att, pos, in, out, (long) b * s, audioInColumns, audioOutColumns, whisperRows);
    }

    /** A growable list of fixed-width records of longs. */
    private static final class LongList {
        static final int WIDTH = 4;
        private long[] data = new long[64 * WIDTH];
        private int n;

        /** kind: 0 text, 1 audio-in, 2 audio-out. */
        void add(long label, long mask, long kind, long source) {
            if ((n + 1) * WIDTH > data.length) data = Arrays.copyOf(data, data.length * 2);
            int o = n * WIDTH;
            data[o] = label;
            data[o + 1] = mask;
            data[o + 2] = kind;
            data[o + 3] = source;
            n++;
        }

        int size() { return n; }

        long[] toArray() { return Arrays.copyOf(data, n * WIDTH); }
    }
}
