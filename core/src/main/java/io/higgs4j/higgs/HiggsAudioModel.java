package io.higgs4j.higgs;

import io.higgs4j.nn.Embedding;
import io.higgs4j.nn.Init;
import io.higgs4j.nn.Linear;
import io.higgs4j.nn.Module;
import io.higgs4j.nn.ModuleList;
import io.higgs4j.nn.RMSNorm;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.util.ArrayList;
import java.util.List;

/**
 * Higgs Audio v2: a Llama decoder whose input merges text tokens with embedded audio codes, with a dual-FFN audio
 * adapter and two heads (text over the vocabulary, audio over K codebooks). Parameter names equal the released
 * checkpoint's ("embed_tokens.weight", "layers.0.audio_mlp.gate_proj.weight", "audio_decoder_proj.text_lm_head.weight").
 */
public final class HiggsAudioModel extends Module {

    public final HiggsAudioConfig config;
    public final Embedding embedTokens;
    public final ModuleList<HiggsAudioDecoderLayer> layers;
    public final RMSNorm norm;
    public final Embedding audioCodebookEmbeddings;
    public final DecoderProjector audioDecoderProj;
    /** With encode_whisper_embed: the Whisper tower and its projection (children audio_tower, audio_encoder_proj); else null. */
    public final HiggsAudioWhisper whisper;
    private final LlamaRotaryEmbedding rotary;

    /** The two heads: text logits on every position, audio logits on audio-out positions. */
    public static final class DecoderProjector extends Module {
        public final Linear audioLmHead, textLmHead;

        DecoderProjector(HiggsAudioConfig c, Init init) {
            long hidden = c.textConfig().hiddenSize();
            audioLmHead = child("audio_lm_head", new Linear(hidden, c.audioVocabSize(), false, init));
            textLmHead = child("text_lm_head", new Linear(hidden, c.textConfig().vocabSize(), false, init));
        }
    }

    public HiggsAudioModel(HiggsAudioConfig config, Init init) {
        this.config = config;
        HiggsAudioConfig.LlamaConfig c = config.textConfig();
        embedTokens = child("embed_tokens", new Embedding(c.vocabSize(), c.hiddenSize(),
                config.padTokenId() < c.vocabSize() ? config.padTokenId() : -1, init));
        layers = child("layers", new ModuleList<>());
        for (int i = 0; i < c.numHiddenLayers(); i++) layers.add(new HiggsAudioDecoderLayer(config, i, init));
        norm = child("norm", new RMSNorm(c.hiddenSize(), c.rmsNormEps(), init));
        audioCodebookEmbeddings = child("audio_codebook_embeddings", new Embedding(config.audioVocabSize(), c.hiddenSize(), -1, init));
        audioDecoderProj = child("audio_decoder_proj", new DecoderProjector(config, init));
        if (config.encodeWhisperEmbed()) {
            // Registered at the top level, as the checkpoint names them: audio_tower.*, audio_encoder_proj.linear.*
            whisper = new HiggsAudioWhisper(config.audioEncoderConfig(), c.hiddenSize(), init);
            child("audio_tower", whisper.audioTower);
            child("audio_encoder_proj", whisper.audioEncoderProj);
        } else {
            whisper = null;
        }
        rotary = new LlamaRotaryEmbedding(c);
    }

    /**
     * Loads the weights from a Higgs checkpoint; with whisperCheckpoint (and a Whisper tower), the tower comes from that
     * Hugging Face Whisper checkpoint's encoder instead, and the projection from the Higgs checkpoint when it has one.
     * Returns true when the projection was left as initialised (the checkpoint had none): it then needs training.
     */
    public boolean loadWeights(java.nio.file.Path checkpoint, java.nio.file.Path whisperCheckpoint) {
        if (whisperCheckpoint != null && whisper == null) {
            throw new IllegalArgumentException("a Whisper checkpoint was given but encode_whisper_embed is off");
        }
        try (io.higgs4j.safetensors.SafetensorsCheckpoint ckpt = io.higgs4j.safetensors.SafetensorsCheckpoint.open(checkpoint)) {
            if (whisperCheckpoint == null) {
                HiggsAudioWeights.load(this, ckpt);
                return false;
            }
            boolean hasProjection = ckpt.names().stream().anyMatch(n -> n.startsWith("audio_encoder_proj."));
            for (var e : namedModules().entrySet()) {
                String name = e.getKey();
                if (name.isEmpty() || name.contains(".") || name.equals("audio_tower")) continue;
                if (name.equals("audio_encoder_proj") && !hasProjection) continue;
                HiggsAudioWeights.load(e.getValue(), ckpt, name + ".", n -> n.startsWith(name + ".") ? n : null);
            }
            whisper.loadWhisperEncoder(whisperCheckpoint);
            return !hasProjection;
        }
    }

    /** Builds the model's structure on the meta device: shapes and names only, nothing allocated. */
    public static HiggsAudioModel shapeOnly(HiggsAudioConfig config) {
        return new HiggsAudioModel(config, Init.meta());
    }

    /** What forward returns; every tensor is the caller's (inside the caller's scope, if any). */
    public record Output(Tensor logits, Tensor audioLogits, Tensor expandedLabels, Tensor audioOutMask,
                         Tensor audioInMask, Tensor attentionMask, Tensor positionIds) {}

    /**
     * Embeds a clip column set: codes [K, N] plus codebook offsets k*(C+2), embedded and summed (or averaged) over
     * the K codebooks: [N, hidden].
     */
    public Tensor embedAudioCodes(Tensor codes) {
        int k = config.audioNumCodebooks();
        if (codes.dim() != 2 || codes.size(0) != k) {
            throw new IllegalArgumentException("audio codes must be [" + k + ", N], got " + codes);
        }
        try (Scope s = Scope.open()) {
            long[] offsets = new long[k];
            for (int i = 0; i < k; i++) offsets[i] = (long) i * (config.audioCodebookSize() + 2);
            Tensor shifted = codes.add(Tensor.of(offsets, k, 1).to(codes.device()));
            Tensor embedded = audioCodebookEmbeddings.forward(shifted);
            Tensor summed = config.audioEmbedAvg() ? embedded.mean(0, false) : embedded.sum(0, false);
            // A trainable float32 copy of the codebook embedding on a bf16 model: back to the model's dtype.
            DType dtype = embedTokens.weight().dtype();
            return Scope.keep(summed.dtype() == dtype ? summed : summed.to(dtype));
        }
    }

    /** The forward of the reference in training mode; merged length rounded up to a multiple of roundTo. */
    public Output forward(HiggsAudioBatch batch, int roundTo) {
        try (Scope scope = Scope.open()) {
            Merged m = merge(batch, roundTo, true);
            Tensor h = m.h();
            long b = h.size(0), length = h.size(1), hidden = h.size(2);
            Device device = h.device();
            // sent to the device before the layers' work is queued, as TrainingPass does (a blocking copy waits for it)
            long[] outPositions = m.plan().audioOutPositions();
            Tensor outRows = outPositions.length > 0 ? Tensor.of(outPositions).to(device) : null;
            Tensor labels = Tensor.of(m.plan().labels(), b, length).to(device);
            for (HiggsAudioDecoderLayer layer : layers.items()) h = layer.forward(h, m.ctx());
            Tensor normed = norm.forward(h);
            Tensor logits = audioDecoderProj.textLmHead.forward(normed);
            Tensor audioLogits = null;
            if (outRows != null) {
                Tensor rows = normed.reshape(b * length, hidden).indexSelect(0, outRows);
                audioLogits = audioDecoderProj.audioLmHead.forward(rows)
                        .view(outPositions.length, config.audioNumCodebooks(), config.audioCodebookSize() + 2);
            }
            return new Output(Scope.keep(logits), audioLogits == null ? null : Scope.keep(audioLogits), Scope.keep(labels),
                    Scope.keep(m.audioOut()), Scope.keep(m.audioIn()), Scope.keep(m.attention()), Scope.keep(m.positions()));
        }
    }

    /**
     * The prompt of a generation (batch 1): its forward with every layer's keys and values stored in cache (which must
     * be empty), the cache advanced past it. Returns the final-norm hidden state of its last position [1, hidden], from
     * which {@link #textLogits} or {@link #audioLogits} give the next token.
     */
    public Tensor prefill(HiggsAudioBatch prompt, KvCache cache) {
        if (prompt.inputIds().size(0) != 1) throw new IllegalArgumentException("generation takes one sequence, got input_ids " + prompt.inputIds());
        if (cache.positions() != 0) throw new IllegalStateException("prefill needs an empty KV cache; it holds " + cache.positions() + " positions");
        try (Scope scope = Scope.open()) {
            Merged m = merge(prompt, 1, true);
            Tensor h = m.h();
            for (int i = 0; i < layers.size(); i++) h = layers.get(i).forward(h, m.ctx(), cache.layer(i));
            long length = h.size(1);
            cache.advance(length);
            return Scope.keep(norm.forward(h.narrow(1, length - 1, 1)).view(1, h.size(2)));
        }
    }

    /**
     * One new position after the cached ones: embedding [1, 1, hidden] (of a text token, {@link #embedText}, or of an
     * audio-out column, {@link #embedAudioColumn}), audioOut when it is an audio-out column. Returns its final-norm
     * hidden state [1, hidden]; the cache holds one more position.
     */
    public Tensor step(Tensor embedding, boolean audioOut, KvCache cache) {
        try (Scope scope = Scope.open()) {
            Device device = embedding.device();
            List<Tensor> cosSin = rotary.cosSin(Tensor.of(new long[] {cache.positions()}, 1, 1).to(device), embedding.dtype());
            Tensor h = embedding;
            for (int i = 0; i < layers.size(); i++) h = layers.get(i).step(h, cosSin.get(0), cosSin.get(1), audioOut, cache.layer(i));
            cache.advance(1);
            return Scope.keep(norm.forward(h).view(1, h.size(2)));
        }
    }

    /** The embedding [1, 1, hidden] of one text token. */
    public Tensor embedText(long token) {
        long vocab = config.textConfig().vocabSize();
        if (token < 0 || token >= vocab) throw new IllegalArgumentException("token id " + token + " is outside the vocabulary 0.." + (vocab - 1));
        try (Scope scope = Scope.open()) {
            Tensor ids = Tensor.of(new long[] {token}, 1, 1).to(embedTokens.weight().device());
            return Scope.keep(embedTokens.forward(ids));
        }
    }

    /** The embedding [1, 1, hidden] of one audio-out column (K codes, stream BOS/EOS included). */
    public Tensor embedAudioColumn(long[] codes) {
        int k = config.audioNumCodebooks();
        if (codes.length != k) throw new IllegalArgumentException("an audio column has " + k + " codes, got " + codes.length);
        for (long c : codes) {
            if (c < 0 || c > config.audioCodebookSize() + 1) {
                throw new IllegalArgumentException("audio code " + c + " is outside 0.." + (config.audioCodebookSize() + 1));
            }
        }
        try (Scope scope = Scope.open()) {
            Tensor e = embedAudioCodes(Tensor.of(codes, k, 1).to(embedTokens.weight().device()));
            return Scope.keep(e.view(1, 1, e.size(1)));
        }
    }

    /** Text logits [1, vocab] of final-norm hidden states [1, hidden]. */
    public Tensor textLogits(Tensor normed) {
        return audioDecoderProj.textLmHead.forward(normed);
    }

    /** Audio logits [K, C + 2] of one final-norm hidden state [1, hidden]. */
    public Tensor audioLogits(Tensor normed) {
        try (Scope scope = Scope.open()) {
            return Scope.keep(audioDecoderProj.audioLmHead.forward(normed).view(config.audioNumCodebooks(), config.audioCodebookSize() + 2));
        }
    }

    /** The merged input of a batch and what every layer needs to know about its positions. */
    record Merged(Tensor h, HiggsAudioDecoderLayer.Context ctx, AudioMerge plan, Tensor attention, Tensor positions,
                          Tensor audioIn, Tensor audioOut) {}

    /**
     * Embeds and merges a batch (tensors in the caller's scope). padOutputsRead: whether anything reads the outputs at
     * padded positions (forward's full logits do; the training pass's heads only read labelled positions).
     */
    Merged merge(HiggsAudioBatch batch, int roundTo, boolean padOutputsRead) {
        Tensor inputIds = batch.inputIds();
        long b = inputIds.size(0), s = inputIds.size(1);
        Device device = embedTokens.weight().device();
        DType dtype = embedTokens.weight().dtype();
        long hidden = config.textConfig().hiddenSize();
        long nIn = batch.audioInIds() == null ? 0 : batch.audioInIds().size(1);
        long nOut = batch.audioOutIds() == null ? 0 : batch.audioOutIds().size(1);
        checkCodes("audio_in_ids", batch.audioInIds());
        checkCodes("audio_out_ids", batch.audioOutIds());
        if (batch.audioFeatures() != null && whisper == null) {
            throw new IllegalArgumentException("the batch has audio_features but the model has no Whisper tower (encode_whisper_embed is false)");
        }
        List<Tensor> whisperTokens = whisper == null || batch.audioFeatures() == null ? List.of()
                : whisper.encode(batch.audioFeatures().to(device, dtype), batch.audioFeatureAttentionMask().to(device));
        long[] whisperCounts = whisper == null ? null : whisperTokens.stream().mapToLong(t -> t.size(0)).toArray();
        AudioMerge plan = AudioMerge.plan(rows(inputIds), batch.attentionMask() == null ? null : rows(batch.attentionMask()),
                batch.labelIds() == null ? null : rows(batch.labelIds()),
                starts(batch.audioInIdsStart(), nIn), nIn, starts(batch.audioOutIdsStart(), nOut), nOut,
                config.audioInTokenIdx(), config.audioOutTokenIdx(), config.encodeAudioInTokens(), whisperCounts, roundTo);
        int length = plan.length();

        // One table of every source row, then one gather: gradients flow back to each source.
        List<Tensor> table = new ArrayList<>();
        table.add(embedTokens.forward(inputIds.to(device)).reshape(b * s, hidden));
        if (nIn > 0) table.add(embedAudioCodes(batch.audioInIds().to(device)));
        if (nOut > 0) table.add(embedAudioCodes(batch.audioOutIds().to(device)));
        for (Tensor w : whisperTokens) table.add(w.dtype() == dtype ? w : w.to(dtype));
        table.add(Tensor.zeros(new long[] {1, hidden}, dtype, device));
        Tensor h = Tensor.cat(table, 0).indexSelect(0, Tensor.of(plan.source()).to(device)).view(b, length, hidden);

        Tensor attention = Tensor.of(plan.attentionMask(), b, length).to(device);
        Tensor positions = Tensor.of(plan.positionIds(), b, length).to(device);
        Tensor audioIn = Tensor.of(plan.audioIn(), b, length).to(device);
        Tensor audioOut = Tensor.of(plan.audioOut(), b, length).to(device);
        Tensor audio = audioIn.logicalOr(audioOut);
        long[] audioPositions = plan.audioPositions();
        boolean hasAudio = audioPositions.length > 0;

        // When the mask is plain causal it is null, and the attention kernels apply causality themselves (no
        // [B, 1, L, L] tensor; the CPU kernel skips the blocks above the diagonal). Padding at a row's end changes
        // only the padded positions' own outputs, so it counts only where those are read.
        Tensor mask = needsMask(plan, padOutputsRead) ? additiveMask(attention, audio, false, dtype) : null;
        Tensor ffMask = hasAudio && hasFastForwardLayers() ? additiveMask(attention, audio, true, dtype) : null;
        List<Tensor> cosSin = rotary.cosSin(positions, dtype);
        HiggsAudioDecoderLayer.Context ctx = new HiggsAudioDecoderLayer.Context(cosSin.get(0), cosSin.get(1), mask, ffMask,
                audio, hasAudio ? Tensor.of(audioPositions).to(device) : null,
                hasAudio ? Tensor.of(plan.textPositions()).to(device) : null);
        return new Merged(h, ctx, plan, attention, positions, audioIn, audioOut);
    }

    /** Whether padding makes the attention more than causal: any padding when padOutputsRead, else padding before a real position. */
    private static boolean needsMask(AudioMerge plan, boolean padOutputsRead) {
        long[] mask = plan.attentionMask();
        int length = plan.length();
        for (int row = 0; row < mask.length / length; row++) {
            boolean seenPad = false;
            for (int i = 0; i < length; i++) {
                boolean pad = mask[row * length + i] == 0;
                if (pad && padOutputsRead) return true;
                if (!pad && seenPad) return true;
                seenPad |= pad;
            }
        }
        return false;
    }

    private boolean hasFastForwardLayers() {
        for (HiggsAudioDecoderLayer l : layers.items()) if (l.kind == HiggsAudioDecoderLayer.Kind.FAST_FORWARD) return true;
        return false;
    }

    private void checkCodes(String name, Tensor codes) {
        if (codes == null) return;
        if (codes.dim() != 2 || codes.size(0) != config.audioNumCodebooks()) {
            throw new IllegalArgumentException(name + " must be [" + config.audioNumCodebooks() + ", N], got " + codes);
        }
        if (codes.numel() == 0) return;
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            long min = codes.min().itemLong(), max = codes.max().itemLong();
            if (min < 0 || max > config.audioCodebookSize() + 1) {
                throw new IllegalArgumentException(name + " holds codes outside 0.." + (config.audioCodebookSize() + 1)
                        + " (min " + min + ", max " + max + ")");
            }
        }
    }

    /**
     * Causal plus key-padding mask, additive, [B, 1, L, L], with the dtype's most negative finite value where masked
     * (a fully masked row then averages instead of giving NaN). For fast-forward layers audio rows and columns are
     * masked too.
     */
    static Tensor additiveMask(Tensor attention, Tensor audio, boolean hideAudio, DType dtype) {
        try (Scope s = Scope.open()) {
            long b = attention.size(0), l = attention.size(1);
            Device device = attention.device();
            Tensor causal = Tensor.ones(new long[] {l, l}, DType.BOOL, device).triu(1).view(1, 1, l, l);
            Tensor padding = attention.eq(0).view(b, 1, 1, l);
            Tensor masked = causal.logicalOr(padding);
            if (hideAudio) masked = masked.logicalOr(audio.view(b, 1, l, 1)).logicalOr(audio.view(b, 1, 1, l));
            Tensor zeros = Tensor.zeros(new long[] {b, 1, l, l}, dtype, device);
            return Scope.keep(zeros.maskedFill(masked, minValue(dtype)));
        }
    }

    static double minValue(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> -Float.MAX_VALUE;
            case FLOAT64 -> -Double.MAX_VALUE;
            case BFLOAT16 -> -3.3895313892515355e38;
            case FLOAT16 -> -65504.0;
            default -> throw new IllegalArgumentException("no attention mask for dtype " + dtype);
        };
    }

    private static long[][] rows(Tensor t) {
        long[] flat = t.toLongArray();
        int b = (int) t.size(0), s = (int) t.size(1);
        long[][] out = new long[b][s];
        for (int i = 0; i < b; i++) System.arraycopy(flat, i * s, out[i], 0, s);
        return out;
    }

    private static long[] starts(Tensor t, long columns) {
        if (t == null) {
            if (columns > 0) throw new IllegalArgumentException("audio ids are given without their *_start tensor");
            return new long[0];
        }
        return t.toLongArray();
    }
}
