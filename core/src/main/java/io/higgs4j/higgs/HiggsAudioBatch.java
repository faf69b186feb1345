package io.higgs4j.higgs;

import io.higgs4j.torch.Tensor;

/**
 * The reference collator's batch: text ids and mask [B, S]; audio-in and audio-out codes [K, N] (delayed, wrapped in
 * stream BOS/EOS) with each clip's start column; text labels [B, S] and audio labels [K, N_out]. Audio and label
 * fields may be null when absent. All int64.
 */
public record HiggsAudioBatch(Tensor inputIds, Tensor attentionMask, Tensor audioInIds, Tensor audioInIdsStart,
                              Tensor audioOutIds, Tensor audioOutIdsStart, Tensor labelIds, Tensor labelAudioIds) {

    public HiggsAudioBatch {
        if (inputIds == null || inputIds.dim() != 2) throw new IllegalArgumentException("input_ids must be [batch, seq], got " + inputIds);
        if (attentionMask != null && !java.util.Arrays.equals(attentionMask.shape(), inputIds.shape())) {
            throw new IllegalArgumentException("attention_mask " + attentionMask + " must match input_ids " + inputIds);
        }
        if (labelIds != null && !java.util.Arrays.equals(labelIds.shape(), inputIds.shape())) {
            throw new IllegalArgumentException("label_ids " + labelIds + " must match input_ids " + inputIds);
        }
    }
}
