package io.higgs4j.trainer.data;

import io.higgs4j.higgs.DelayPattern;
import io.higgs4j.higgs.HiggsAudioConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Encoded samples to one batch (docs/MODEL.md sections 5 and 7), as the reference collator: text padded on the right with
 * pad_token_id (labels -100, mask 0) to the longest row rounded up to a multiple of roundTo (8); every clip's codes
 * wrapped in audio_stream_bos_id / audio_stream_eos_id and delayed (when use_delay_pattern); audio-in clips and
 * audio-out clips each concatenated along columns in batch order, with their start columns; audio labels
 * [-100 | codes | EOS] delayed, all -100 for an audio-out clip that is not supervised.
 */
public final class Collator {

    private final int numCodebooks;
    private final long bos;
    private final long eos;
    private final long pad;
    private final long audioOutToken;
    private final boolean delay;
    private final int roundTo;
    private final boolean whisper;
    private final int melBins;

    public Collator(HiggsAudioConfig config) {
        this(config, 8);
    }

    public Collator(HiggsAudioConfig config, int roundTo) {
        if (roundTo < 1) throw new IllegalArgumentException("roundTo must be >= 1, got " + roundTo);
        this.numCodebooks = config.audioNumCodebooks();
        this.bos = config.audioStreamBosId();
        this.eos = config.audioStreamEosId();
        this.pad = config.padTokenId();
        this.audioOutToken = config.audioOutTokenIdx();
        this.delay = config.useDelayPattern();
        this.roundTo = roundTo;
        this.whisper = config.encodeWhisperEmbed();
        this.melBins = whisper ? config.audioEncoderConfig().numMelBins() : 0;
    }

    public Collated collate(List<EncodedSample> samples) {
        if (samples.isEmpty()) throw new IllegalArgumentException("cannot collate an empty batch");
        int b = samples.size();
        int longest = samples.stream().mapToInt(EncodedSample::textLength).max().orElse(0);
        int s = (longest + roundTo - 1) / roundTo * roundTo;
        long[][] ids = new long[b][s], mask = new long[b][s], labels = new long[b][s];
        long textTokens = 0, merged = 0, supervisedText = 0, outFrames = 0;
        int mergedSeqLen = 0;
        List<long[][]> inClips = new ArrayList<>(), outClips = new ArrayList<>(), outLabels = new ArrayList<>();
        List<float[]> waves = new ArrayList<>();
        for (int r = 0; r < b; r++) {
            EncodedSample e = samples.get(r);
            int n = e.textLength();
            System.arraycopy(e.inputIds(), 0, ids[r], 0, n);
            Arrays.fill(ids[r], n, s, pad);
            Arrays.fill(mask[r], 0, n, 1);
            System.arraycopy(e.labels(), 0, labels[r], 0, n);
            Arrays.fill(labels[r], n, s, DelayPattern.IGNORE_INDEX);
            textTokens += n;
            merged += e.mergedLength();
            mergedSeqLen = Math.max(mergedSeqLen, s - n + e.mergedLength());
            for (int i = 0; i < n; i++) {
                if (e.labels()[i] != DelayPattern.IGNORE_INDEX && e.inputIds()[i] != audioOutToken) supervisedText++;
            }
            for (EncodedSample.Clip c : e.audioIn()) {
                inClips.add(input(load(e, c)));
                if (whisper) {
                    if (c.waveform() == null) {
                        throw new DataException("sample " + e.id() + ": an audio-in clip (" + c.codes() + ") has no waveform, and the "
                                + "config has encode_whisper_embed; encode the sample with its waveforms");
                    }
                    float[] w = c.waveform().load();
                    if (w.length > Waveform.CHUNK_SAMPLES) {
                        throw new DataException("sample " + e.id() + ": audio-in clip " + c.waveform() + " is longer than one 30-second chunk");
                    }
                    waves.add(w);
                }
            }
            for (EncodedSample.Clip c : e.audioOut()) {
                long[][] codes = load(e, c);
                long[][] input = input(codes);
                outClips.add(input);
                outLabels.add(c.supervised() ? labels(codes) : ignored(input[0].length));
                outFrames += codes[0].length;
            }
        }
        long[][] inIds = concat(inClips), outIds = concat(outClips), outLab = concat(outLabels);
        long supervisedAudio = 0;
        if (outLab != null) for (long[] row : outLab) for (long v : row) if (v != DelayPattern.IGNORE_INDEX) supervisedAudio++;
        Collated.TokenCounts counts = new Collated.TokenCounts(b, textTokens, (long) b * s, merged, supervisedText, supervisedAudio, outFrames,
                mergedSeqLen);
        return new Collated(ids, mask, labels, inIds, starts(inClips), outIds, starts(outClips), outLab, counts,
                waves.isEmpty() ? null : List.copyOf(waves), melBins);
    }

    private long[][] load(EncodedSample e, EncodedSample.Clip c) {
        long[][] codes = c.codes().load();
        if (codes.length != numCodebooks) {
            throw new DataException("sample " + e.id() + ": " + c.codes() + " has " + codes.length + " codebooks, the model has " + numCodebooks);
        }
        return codes;
    }

    /** [bos | codes | eos], delayed when use_delay_pattern. */
    private long[][] input(long[][] codes) {
        return delay ? DelayPattern.build(codes, bos, eos) : DelayPattern.wrap(codes, bos, eos);
    }

    /** [-100 | codes | eos], delayed when use_delay_pattern. */
    private long[][] labels(long[][] codes) {
        if (delay) return DelayPattern.buildLabels(codes, eos);
        long[][] out = new long[codes.length][codes[0].length + 2];
        for (int k = 0; k < codes.length; k++) {
            out[k][0] = DelayPattern.IGNORE_INDEX;
            System.arraycopy(codes[k], 0, out[k], 1, codes[k].length);
            out[k][codes[k].length + 1] = eos;
        }
        return out;
    }

    /** All -100, K x width: the audio labels of an unsupervised clip. */
    private long[][] ignored(int width) {
        long[][] out = new long[numCodebooks][width];
        for (long[] row : out) Arrays.fill(row, DelayPattern.IGNORE_INDEX);
        return out;
    }

    private long[][] concat(List<long[][]> clips) {
        if (clips.isEmpty()) return null;
        int total = clips.stream().mapToInt(c -> c[0].length).sum();
        long[][] out = new long[numCodebooks][total];
        int at = 0;
        for (long[][] c : clips) {
            for (int k = 0; k < numCodebooks; k++) System.arraycopy(c[k], 0, out[k], at, c[k].length);
            at += c[0].length;
        }
        return out;
    }

    private static long[] starts(List<long[][]> clips) {
        if (clips.isEmpty()) return null;
        long[] out = new long[clips.size()];
        long at = 0;
        for (int i = 0; i < out.length; i++) {
            out[i] = at;
            at += clips.get(i)[0].length;
        }
        return out;
    }
}
