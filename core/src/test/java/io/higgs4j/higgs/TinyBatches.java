package io.higgs4j.higgs;

import io.higgs4j.torch.Tensor;

import java.util.Random;

/** Hand-built batches for the tiny preset (placeholders 1015 = <|AUDIO|>, 1016 = <|AUDIO_OUT|>, pad 1001). */
final class TinyBatches {
    static final long AUDIO = 1015, AUDIO_OUT = 1016, PAD = 1001;

    private TinyBatches() {}

    static long[] codes(Random r, int k, int t) {
        long[] c = new long[k * t];
        for (int i = 0; i < c.length; i++) c[i] = r.nextInt(1026);
        return c;
    }

    /**
     * Row 0: 3 text, AUDIO (clip of 4 columns), 2 text, AUDIO_OUT (clip of 5 columns), 2 text.
     * Row 1: 2 text, AUDIO_OUT (clip of 3 columns), 3 text, then 4 pads (mask 0).
     */
    static HiggsAudioBatch mixed(long seed) {
        Random r = new Random(seed);
        long[] ids = {
                5, 6, 7, AUDIO, 8, 9, AUDIO_OUT, 10, 11, 12,
                20, 21, AUDIO_OUT, 22, 23, 24, PAD, PAD, PAD, PAD};
        long[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
        long[] labels = {-100, -100, -100, -100, -100, 9, -100, 10, 11, 12, -100, 21, -100, 22, 23, 24, -100, -100, -100, -100};
        long[] audioOutLabels = codes(r, 8, 8);
        for (int k = 0; k < 8; k++) {
            audioOutLabels[k * 8] = -100;      // each clip's first label column is -100
            audioOutLabels[k * 8 + 5] = -100;
        }
        return new HiggsAudioBatch(Tensor.of(ids, 2, 10), Tensor.of(mask, 2, 10),
                Tensor.of(codes(r, 8, 4), 8, 4), Tensor.of(new long[] {0}),
                Tensor.of(codes(r, 8, 8), 8, 8), Tensor.of(new long[] {0, 5}),
                Tensor.of(labels, 2, 10), Tensor.of(audioOutLabels, 8, 8));
    }

    /** Text only: one row of n tokens. */
    static HiggsAudioBatch textOnly(long... tokens) {
        long[] labels = tokens.clone();
        return new HiggsAudioBatch(Tensor.of(tokens, 1, tokens.length), Tensor.ones(new long[] {1, tokens.length},
                io.higgs4j.torch.DType.INT64, io.higgs4j.torch.Device.CPU), null, null, null, null, Tensor.of(labels, 1, tokens.length), null);
    }
}
