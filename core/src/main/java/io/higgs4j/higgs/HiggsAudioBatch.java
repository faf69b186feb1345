package io.higgs4j.higgs;

import io.higgs4j.torch.Device;
import io.higgs4j.torch.Tensor;

/**
 * The reference collator's batch: text ids and mask [B, S]; audio-in and audio-out codes [K, N] (delayed, wrapped in
 * stream BOS/EOS) with each clip's start column; text labels [B, S] and audio labels [K, N_out]; with
 * encode_whisper_embed, each audio-in clip's Whisper log-mel features [clips, mels, 3000] (float32) and their mask
 * over real frames [clips, 3000]. Audio, feature and label fields may be null when absent. All else int64.
 */
public record HiggsAudioBatch(Tensor inputIds, Tensor attentionMask, Tensor audioInIds, Tensor audioInIdsStart,
                              Tensor audioOutIds, Tensor audioOutIdsStart, Tensor labelIds, Tensor labelAudioIds,
                              Tensor audioFeatures, Tensor audioFeatureAttentionMask) {

    /** A batch without Whisper features. */
    public HiggsAudioBatch(Tensor inputIds, Tensor attentionMask, Tensor audioInIds, Tensor audioInIdsStart,
                           Tensor audioOutIds, Tensor audioOutIdsStart, Tensor labelIds, Tensor labelAudioIds) {
        this(inputIds, attentionMask, audioInIds, audioInIdsStart, audioOutIds, audioOutIdsStart, labelIds, labelAudioIds, null, null);
    }

    public HiggsAudioBatch {
        if (inputIds == null || inputIds.dim() != 2) throw new IllegalArgumentException("input_ids must be [batch, seq], got " + inputIds);
        if (inputIds.size(0) == 0 || inputIds.size(1) == 0) {
            throw new IllegalArgumentException("input_ids must hold at least one token in at least one row, got " + inputIds);
        }
        if (attentionMask != null && !java.util.Arrays.equals(attentionMask.shape(), inputIds.shape())) {
            throw new IllegalArgumentException("attention_mask " + attentionMask + " must match input_ids " + inputIds);
        }
        if (labelIds != null && !java.util.Arrays.equals(labelIds.shape(), inputIds.shape())) {
            throw new IllegalArgumentException("label_ids " + labelIds + " must match input_ids " + inputIds);
        }
        if ((audioFeatures == null) != (audioFeatureAttentionMask == null)) {
            throw new IllegalArgumentException("audio_features and audio_feature_attention_mask come together");
        }
        if (audioFeatures != null && (audioFeatures.dim() != 3 || audioFeatureAttentionMask.dim() != 2
                || audioFeatures.size(0) != audioFeatureAttentionMask.size(0) || audioFeatures.size(2) != audioFeatureAttentionMask.size(1))) {
            throw new IllegalArgumentException("audio_features " + audioFeatures + " and audio_feature_attention_mask "
                    + audioFeatureAttentionMask + " must be [clips, mels, frames] and [clips, frames]");
        }
    }

    /** This batch on device: a new handle for every tensor (aten::to), owned by the caller's scope. */
    public HiggsAudioBatch to(Device device) {
        return new HiggsAudioBatch(to(inputIds, device), to(attentionMask, device), to(audioInIds, device), to(audioInIdsStart, device),
                to(audioOutIds, device), to(audioOutIdsStart, device), to(labelIds, device), to(labelAudioIds, device),
                to(audioFeatures, device), to(audioFeatureAttentionMask, device));
    }

    private static Tensor to(Tensor t, Device device) {
        return t == null ? null : t.to(device);
    }
}
