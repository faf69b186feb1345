package io.higgs4j.higgs;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Tensor;

import java.util.Random;

/**
 * Random batches of a config's shape, for timing the model (the JMH model benchmark, the step timers) where real data
 * would only add loading time: every row is seqLen/2 + 1 text tokens, one of them the audio-out placeholder (label
 * -100), and a clip of seqLen - seqLen/2 audio-out columns whose codes are also its labels. Two label layouts of the
 * same tokens: {@link #mixed} labels every text token; {@link #voiceCloning} labels the text tokens a voice-cloning
 * sample supervises (the assistant turn that carries the clip), the rest being prompt.
 */
public final class SyntheticBatch {
    private SyntheticBatch() {}

    /** A CPU batch of b rows, drawn from r. */
    public static HiggsAudioBatch mixed(HiggsAudioConfig c, int b, int seqLen, Random r) {
        return build(c, b, seqLen, r, false);
    }

    /**
     * The same rows as {@link #mixed} (same draws from r), labelled as SampleEncoder labels a voice-cloning sample: of
     * the text tokens only the one before the placeholder and the two after it carry labels (in real data
     * {@code <|audio_out_bos|>}, {@code <|audio_eos|>} and {@code <|eot_id|>} of the assistant turn); the tokens before
     * are the system and user turns and the ones after stand for what follows the turn, all unsupervised. So about
     * three positions a row feed the text head, where {@link #mixed} has seqLen/2.
     */
    public static HiggsAudioBatch voiceCloning(HiggsAudioConfig c, int b, int seqLen, Random r) {
        return build(c, b, seqLen, r, true);
    }

    private static HiggsAudioBatch build(HiggsAudioConfig c, int b, int seqLen, Random r, boolean turnOnly) {
        int text = seqLen / 2, clip = seqLen - text, k = c.audioNumCodebooks();
        long[] ids = new long[b * (text + 1)], labels = new long[ids.length], codes = new long[k * b * clip], starts = new long[b];
        for (int row = 0; row < b; row++) {
            for (int i = 0; i <= text; i++) {
                long tok = i == text / 2 ? c.audioOutTokenIdx() : r.nextInt(1000);
                ids[row * (text + 1) + i] = tok;
                boolean supervised = turnOnly ? i == text / 2 - 1 || i == text / 2 + 1 || i == text / 2 + 2 : i != text / 2;
                labels[row * (text + 1) + i] = supervised ? tok : -100;
            }
            starts[row] = (long) row * clip;
        }
        for (int i = 0; i < codes.length; i++) codes[i] = r.nextInt(c.audioCodebookSize());
        return new HiggsAudioBatch(Tensor.of(ids, b, text + 1), Tensor.ones(new long[] {b, text + 1}, DType.INT64, Device.CPU),
                null, null, Tensor.of(codes, k, (long) b * clip), Tensor.of(starts), Tensor.of(labels, b, text + 1),
                Tensor.of(codes, k, (long) b * clip));
    }
}
