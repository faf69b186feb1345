package io.higgs4j.trainer.data;

import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Tensor;

/**
 * A collated batch as Java arrays, and {@link #toBatch} to make the model's {@link HiggsAudioBatch} of int64 tensors.
 * Text arrays are [B][S] (S a multiple of the collator's roundTo); audio arrays are [K][N] (all clips' delayed columns
 * concatenated) with each clip's start column; audio fields are null when the batch has no such clip.
 */
public record Collated(long[][] inputIds, long[][] attentionMask, long[][] labelIds,
                       long[][] audioInIds, long[] audioInIdsStart,
                       long[][] audioOutIds, long[] audioOutIdsStart, long[][] labelAudioIds,
                       TokenCounts counts) {

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

    /** The batch on the CPU; its tensors belong to the current scope, if one is open. */
    public HiggsAudioBatch toBatch() {
        return toBatch(Device.CPU);
    }

    /** The batch as int64 tensors on device; its tensors belong to the current scope, if one is open. */
    public HiggsAudioBatch toBatch(Device device) {
        return new HiggsAudioBatch(tensor(inputIds, device), tensor(attentionMask, device), tensor(audioInIds, device),
                vector(audioInIdsStart, device), tensor(audioOutIds, device), vector(audioOutIdsStart, device),
                tensor(labelIds, device), tensor(labelAudioIds, device));
    }

    private static Tensor tensor(long[][] a, Device device) {
        if (a == null) return null;
        int r = a.length, c = r == 0 ? 0 : a[0].length;
        long[] flat = new long[r * c];
        for (int i = 0; i < r; i++) System.arraycopy(a[i], 0, flat, i * c, c);
        return onDevice(Tensor.of(flat, r, c), device);
    }

    private static Tensor vector(long[] a, Device device) {
        return a == null ? null : onDevice(Tensor.of(a, a.length), device);
    }

    private static Tensor onDevice(Tensor cpu, Device device) {
        if (device.equals(Device.CPU)) return cpu;
        try (cpu) {
            return cpu.to(device);
        }
    }
}
