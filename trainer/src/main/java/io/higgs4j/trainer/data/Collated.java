package io.higgs4j.trainer.data;

import io.higgs4j.audio.WhisperFeatureExtractor;
import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A collated batch as Java arrays, and {@link #toBatch} to make the model's {@link HiggsAudioBatch} of int64 tensors.
 * Text arrays are [B][S] (S a multiple of the collator's roundTo); audio arrays are [K][N] (all clips' delayed columns
 * concatenated) with each clip's start column; audio fields are null when the batch has no such clip.
 *
 * <p>Under Whisper (encode_whisper_embed), {@code audioInWaveforms} holds each audio-in clip's waveform, 16 kHz mono,
 * at most 30 s, in the order of the audio-in clips (that of {@code audioInIdsStart}: row by row, each row's
 * placeholders in order), and {@code numMelBins} the Whisper encoder's mel bins; else they are null and 0.
 */
public record Collated(long[][] inputIds, long[][] attentionMask, long[][] labelIds,
                       long[][] audioInIds, long[] audioInIdsStart,
                       long[][] audioOutIds, long[] audioOutIdsStart, long[][] labelAudioIds,
                       TokenCounts counts, List<float[]> audioInWaveforms, int numMelBins) {

    /** A batch without Whisper waveforms. */
    public Collated(long[][] inputIds, long[][] attentionMask, long[][] labelIds, long[][] audioInIds, long[] audioInIdsStart,
                    long[][] audioOutIds, long[] audioOutIdsStart, long[][] labelAudioIds, TokenCounts counts) {
        this(inputIds, attentionMask, labelIds, audioInIds, audioInIdsStart, audioOutIds, audioOutIdsStart, labelAudioIds, counts, null, 0);
    }

    public Collated {
        if (audioInWaveforms != null) {
            audioInWaveforms = List.copyOf(audioInWaveforms);
            if (numMelBins < 1) throw new IllegalArgumentException("waveforms need the number of mel bins, got " + numMelBins);
            int clips = audioInIdsStart == null ? 0 : audioInIdsStart.length;
            if (audioInWaveforms.size() != clips) {
                throw new IllegalArgumentException(audioInWaveforms.size() + " audio-in waveforms for " + clips + " audio-in clips");
            }
            for (float[] w : audioInWaveforms) {
                if (w.length > WhisperFeatureExtractor.CHUNK_SAMPLES) {
                    throw new IllegalArgumentException("an audio-in waveform of " + w.length + " samples is longer than one 30-second chunk");
                }
            }
        }
    }

    /**
     * Sizes of a batch.
     *
     * @param samples              rows (B)
     * @param textTokens           real text tokens (attention mask 1), placeholders included
     * @param paddedTextTokens     B * S
     * @param mergedTokens         sum of the rows' merged lengths (text with each placeholder replaced by its clip's
     *                             columns): the tokens the model actually processes, before padding
     * @param supervisedTextTokens text labels that are not -100, placeholders excluded: what the text loss averages over
     * @param supervisedAudioLabels cells of label_audio_ids that are not -100 (all codebooks)
     * @param audioOutFrames       frames (T) of all audio-out clips
     * @param mergedSeqLen         the model's merged sequence length before it rounds it up: the longest row once its
     *                             placeholders are replaced by their clips' columns, its text padding included
     */
    public record TokenCounts(int samples, long textTokens, long paddedTextTokens, long mergedTokens, long supervisedTextTokens,
                              long supervisedAudioLabels, long audioOutFrames, int mergedSeqLen) { }

    public int batchSize() {
        return inputIds.length;
    }

    public int seqLen() {
        return inputIds.length == 0 ? 0 : inputIds[0].length;
    }

    /**
     * The batch as int64 tensors on the CPU; its tensors belong to the current scope, if one is open. The model reads
     * the ids on the host to plan the merge and sends to its device only what it computes with, so a batch is never
     * moved there whole (which would copy it over and back).
     */
    public HiggsAudioBatch toBatch() {
        Tensor[] whisper = audioInWaveforms == null ? new Tensor[2] : features();
        return new HiggsAudioBatch(tensor(inputIds), tensor(attentionMask), tensor(audioInIds), vector(audioInIdsStart),
                tensor(audioOutIds), vector(audioOutIdsStart), tensor(labelIds), tensor(labelAudioIds), whisper[0], whisper[1]);
    }

    /**
     * Whisper log-mel features of the audio-in waveforms, [clips, numMelBins, 3000] float32, and their mask [clips, 3000]
     * int64 (1 on the first ceil(samples / 160) frames), computed as {@link WhisperFeatureExtractor} does,
     * each clip zero padded to 30 s. Null, null when there are no waveforms.
     */
    public Tensor[] features() {
        if (audioInWaveforms == null || audioInWaveforms.isEmpty()) return new Tensor[2];
        int clips = audioInWaveforms.size(), chunk = WhisperFeatureExtractor.CHUNK_SAMPLES, frames = WhisperFeatureExtractor.CHUNK_FRAMES;
        float[] padded = new float[Math.multiplyExact(clips, chunk)];
        long[] mask = new long[clips * frames];
        for (int c = 0; c < clips; c++) {
            float[] w = audioInWaveforms.get(c);
            System.arraycopy(w, 0, padded, c * chunk, w.length);
            Arrays.fill(mask, c * frames, c * frames + Math.ceilDiv(w.length, WhisperFeatureExtractor.HOP_LENGTH), 1L);
        }
        WhisperFeatureExtractor fx = extractor(numMelBins);
        Tensor[] out = Scope.run(() -> {
            Tensor x = Tensor.of(padded, clips, chunk);
            return new Tensor[] {fx.logMel(x), Tensor.of(mask, clips, frames)};
        });
        return out;
    }

    private static final Map<Integer, WhisperFeatureExtractor> EXTRACTORS = new ConcurrentHashMap<>();

    private static WhisperFeatureExtractor extractor(int nMels) {
        return EXTRACTORS.computeIfAbsent(nMels, WhisperFeatureExtractor::new);
    }

    private static Tensor tensor(long[][] a) {
        if (a == null) return null;
        int r = a.length, c = r == 0 ? 0 : a[0].length;
        long[] flat = new long[r * c];
        for (int i = 0; i < r; i++) System.arraycopy(a[i], 0, flat, i * c, c);
        return Tensor.of(flat, r, c);
    }

    private static Tensor vector(long[] a) {
        return a == null ? null : Tensor.of(a, a.length);
    }
}
