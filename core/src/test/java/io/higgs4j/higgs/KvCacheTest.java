package io.higgs4j.higgs;

import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Incremental decoding equals the full forward: after a prefill of the prompt, the logits of every cached step equal
 * the training-mode forward's logits at the same position of the whole sequence (a causal model: position t sees the
 * first t positions either way).
 */
class KvCacheTest {

    static final long AUDIO_IN = 1015, AUDIO_OUT = 1016, AUDIO_BOS = 1012 - 1, AUDIO_OUT_BOS = 1013;
    static final int K = 8;

    /** Tiny preset, layer 0 dual-FFN, layer 1 fast-forward; weights scaled up so logits spread (std 0.02 -> 0.4). */
    static HiggsAudioModel model(long seed) {
        Torch.manualSeed(seed);
        HiggsAudioConfig c = HiggsAudioConfig.preset("tiny").withAdapter("dual_ffn_fast_forward", Set.of(0));
        HiggsAudioModel m = new HiggsAudioModel(c, Init.cpu(DType.FLOAT32));
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            for (Tensor p : m.parameters()) if (p.dim() == 2) p.copy_(p.mul(20.0));
        }
        m.train(false);
        return m;
    }

    static long[][] codes(Random r, int t) {
        long[][] c = new long[K][t];
        for (long[] row : c) for (int i = 0; i < t; i++) row[i] = r.nextInt(1024);
        return c;
    }

    static Tensor tensor(long[][] rows) {
        long[] flat = new long[rows.length * rows[0].length];
        for (int r = 0; r < rows.length; r++) System.arraycopy(rows[r], 0, flat, r * rows[0].length, rows[0].length);
        return Tensor.of(flat, rows.length, rows[0].length);
    }

    static long[][] concatColumns(long[][] a, long[][] b) {
        long[][] out = new long[a.length][];
        for (int r = 0; r < a.length; r++) {
            out[r] = java.util.Arrays.copyOf(a[r], a[r].length + b[r].length);
            System.arraycopy(b[r], 0, out[r], a[r].length, b[r].length);
        }
        return out;
    }

    static HiggsAudioBatch batch(long[] ids, long[][] in, long[][] out, long[] outStarts) {
        return new HiggsAudioBatch(Tensor.of(ids, 1, ids.length), null, tensor(in), Tensor.of(new long[] {0}),
                tensor(out), Tensor.of(outStarts), null, null);
    }

    /** Full-forward logits minus cached-step logits, over every step; asserts each within tol. */
    static double compare(HiggsAudioModel m) {
        Random r = new Random(3);
        long bos = m.config.audioStreamBosId(), eos = m.config.audioStreamEosId();
        long[][] refIn = DelayPattern.build(codes(r, 5), bos, eos);       // a user reference clip (audio-in)
        long[][] refOut = DelayPattern.build(codes(r, 4), bos, eos);      // an earlier assistant clip (audio-out)
        long[][] newClip = DelayPattern.build(codes(r, 6), bos, eos);     // the clip being generated
        int newColumns = 7;                                               // its first columns only: still in progress
        long[][] partial = new long[K][];
        for (int k = 0; k < K; k++) partial[k] = java.util.Arrays.copyOf(newClip[k], newColumns);
        long[] prompt = {1000, 5, 6, AUDIO_BOS, AUDIO_IN, 1012, 7, AUDIO_OUT_BOS, AUDIO_OUT, 1012, 8, 9};
        long[] textAfter = {10, 11, AUDIO_OUT_BOS};

        long[] fullIds = java.util.Arrays.copyOf(prompt, prompt.length + textAfter.length + 1);
        System.arraycopy(textAfter, 0, fullIds, prompt.length, textAfter.length);
        fullIds[fullIds.length - 1] = AUDIO_OUT;
        double worst = 0;
        try (Scope s = Scope.open(); var g = Torch.noGrad(); KvCache cache = new KvCache(m, 4)) {
            HiggsAudioModel.Output full = m.forward(batch(fullIds, refIn, concatColumns(refOut, partial),
                    new long[] {0, refOut[0].length}), 1);
            float[][] fullText = rows(full.logits().view(full.logits().size(1), -1));
            float[][] fullAudio = rows(full.audioLogits().reshape(full.audioLogits().size(0), -1));
            int mergedPrompt = prompt.length - 2 + refIn[0].length + refOut[0].length;

            Tensor h = m.prefill(batch(prompt, refIn, refOut, new long[] {0}), cache);
            assertEquals(mergedPrompt, cache.positions());
            worst = Math.max(worst, assertClose(fullText[mergedPrompt - 1], row(m.textLogits(h)), "prefill"));
            for (int i = 0; i < textAfter.length; i++) {  // the last one is <|audio_out_bos|>
                h = m.step(m.embedText(textAfter[i]), false, cache);
                worst = Math.max(worst, assertClose(fullText[mergedPrompt + i], row(m.textLogits(h)), "text step " + i));
            }
            for (int c = 0; c < newColumns; c++) {
                long[] column = new long[K];
                for (int k = 0; k < K; k++) column[k] = partial[k][c];
                h = m.step(m.embedAudioColumn(column), true, cache);
                worst = Math.max(worst, assertClose(fullAudio[refOut[0].length + c], row(m.audioLogits(h).reshape(1, -1)), "audio column " + c));
            }
            assertEquals(mergedPrompt + textAfter.length + newColumns, cache.positions());
        }
        return worst;
    }

    static float[][] rows(Tensor t) {
        int n = (int) t.size(0), w = (int) t.size(1);
        float[] flat = t.toFloatArray();
        float[][] out = new float[n][w];
        for (int i = 0; i < n; i++) System.arraycopy(flat, i * w, out[i], 0, w);
        return out;
    }

    static float[] row(Tensor t) {
        return t.reshape(-1).toFloatArray();
    }

    static double assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        double scale = 0, diff = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(scale > 1, what + ": logits too flat to test anything (max |logit| " + scale + ")");
        assertTrue(diff <= 1e-5 * Math.max(1, scale), what + ": cached step differs from the full forward by " + diff + " (scale " + scale + ")");
        return diff / scale;
    }

    @Test
    void cachedStepsEqualTheFullForward() {
        try (HiggsAudioModel m = model(1)) {
            compare(m);
        }
    }

    @Test
    void cachedStepsEqualTheFullForwardWithLoraUnmergedAndMerged() {
        try (HiggsAudioModel m = model(2);
             LoraModel lora = LoraModel.apply(m, LoraConfig.of(4, 8, 0.0, "comprehensive",
                     List.of("audio_decoder_proj.audio_lm_head")), Init.cpu(DType.FLOAT32))) {
            Torch.manualSeed(5);
            try (Scope s = Scope.open(); var g = Torch.noGrad()) {
                for (Tensor t : lora.trainableParameters().values()) t.copy_(Tensor.randn(t.shape()).mul(0.3).add(t));
            }
            m.train(false);
            compare(m);
            lora.merge();
            compare(m);
        }
    }

    @Test
    void aFullCacheDoublesAndKeepsItsContents() {
        try (HiggsAudioModel m = model(3); KvCache cache = new KvCache(m, 2); Scope s = Scope.open(); var g = Torch.noGrad()) {
            KvCache.Layer layer = cache.layer(0);
            List<Tensor> written = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                Tensor k = Tensor.randn(new long[] {1, 2, 1, 16}, DType.FLOAT32, Device.CPU);
                layer.append(k, k.mul(2.0));
                written.add(k);
            }
            assertEquals(5, layer.length());
            assertEquals(8, layer.capacity(), "2 -> 4 -> 8");
            assertArrayEquals(Tensor.cat(written, 2).toFloatArray(), layer.keys().contiguous().toFloatArray());
            assertArrayEquals(Tensor.cat(written, 2).mul(2.0).toFloatArray(), layer.values().contiguous().toFloatArray());
        }
    }
}
