package io.higgs4j.higgs;

import io.higgs4j.nn.Linear;
import io.higgs4j.nn.Module;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Forward, loss and backward of one training micro-batch, the memory-lean way: the same loss and the same gradients
 * as {@link HiggsAudioModel#forward} followed by {@link HiggsAudioLoss#compute} and {@code backward()}, but
 * <ul>
 *   <li>the text head runs only on positions whose (shifted) text label is counted, and the audio head only on
 *       audio-out rows whose next column has a counted label: a voice-cloning sample supervises a handful of text
 *       positions, and the 128,256-way text head over every position was most of a step's memory;</li>
 *   <li>the heads and the cross-entropy run in chunks of rows, each chunk's backward right after its forward, so at
 *       most one chunk of logits exists at a time (the final hidden state is cut from the graph there and its
 *       gradient, summed over the chunks, is sent back through the decoder afterwards);</li>
 *   <li>with gradient checkpointing, the decoder layers run without a graph and keep only their inputs; backward then
 *       re-runs each layer (last first) with a graph and sends the gradient of its output through it. libtorch's
 *       custom autograd functions are C++ only, so the backward is driven segment by segment from here.</li>
 * </ul>
 * When any LoRA dropout is active, every layer runs under its own seed drawn from the global generator (in both
 * modes), so a re-run draws the same masks and a checkpointed step has the gradients of a plain one, bit for bit.
 * Every count is known on the host (from the batch's labels), so nothing waits on the device until the caller reads
 * the loss.
 */
public final class TrainingPass {

    /** Rows of logits per chunk: chunk rows x classes stays under this many elements (64 MiB of float32). */
    static final long CHUNK_ELEMENTS = 1L << 24;

    private TrainingPass() {}

    /**
     * loss weights the streams; checkpointing re-runs each decoder layer in backward; gradientScale multiplies the
     * gradient (1 / accumulation steps in the trainer; the returned losses are not scaled).
     */
    public record Options(HiggsAudioLoss.Options loss, boolean gradientCheckpointing, double gradientScale) {
        public Options {
            if (loss == null) loss = HiggsAudioLoss.Options.defaults();
            if (!(gradientScale > 0) || !Double.isFinite(gradientScale)) {
                throw new IllegalArgumentException("gradientScale must be finite and > 0, got " + gradientScale);
            }
        }

        /** The default loss, no checkpointing, gradient scale 1. */
        public static Options defaults() {
            return new Options(HiggsAudioLoss.Options.defaults(), false, 1.0);
        }
    }

    /**
     * Runs forward, loss and backward: every parameter that requires grad gets d(gradientScale * total)/d(parameter)
     * added to its gradient. Returns the losses (no graph; in the caller's scope), as {@link HiggsAudioLoss#compute}
     * gives them.
     */
    public static HiggsAudioLoss.Result run(HiggsAudioModel model, HiggsAudioBatch batch, int roundTo, Options options) {
        return run(model, batch, roundTo, options, CHUNK_ELEMENTS);
    }

    /** {@link #run} with another chunk size (tests: several chunks on a tiny vocabulary). */
    static HiggsAudioLoss.Result run(HiggsAudioModel model, HiggsAudioBatch batch, int roundTo, Options options, long chunkElements) {
        Options opt = options == null ? Options.defaults() : options;
        if (batch.labelIds() == null) throw new IllegalArgumentException("a training batch needs label_ids");
        if ((batch.audioOutIds() == null) != (batch.labelAudioIds() == null)) {
            throw new IllegalArgumentException("a training batch has audio-out codes and audio labels together or neither");
        }
        try (Scope scope = Scope.open()) {
            HiggsAudioModel.Merged m = model.merge(batch, roundTo, false);
            Tensor h0 = m.h();
            long hidden = h0.size(2);
            Device device = h0.device();
            long[] seeds = layerSeeds(model);
            List<HiggsAudioDecoderLayer> layers = model.layers.items();
            Planned p = Planned.of(model, m, batch);
            Targets t = p.targets();
            OnDevice d = p.onDevice();
            Cut cut = p.cut();

            // Forward through the decoder: with checkpointing, without a graph, keeping each layer's input.
            List<Tensor> inputs = new ArrayList<>();
            Tensor h = opt.gradientCheckpointing() ? h0.detach() : h0;
            try (var g = opt.gradientCheckpointing() ? Torch.noGrad() : null) {
                for (int i = 0; i < layers.size(); i++) {
                    inputs.add(h);
                    if (seeds != null) Torch.manualSeed(seeds[i]);
                    h = layerForward(layers, i, h, m.ctx(), cut);
                }
            }
            Tensor top = opt.gradientCheckpointing() ? h.requiresGrad(true) : h;
            Tensor normed = model.norm.forward(top);
            Tensor leaf = normed.detach().reshape(normed.size(0) * normed.size(1), hidden).requiresGrad(true);

            Sums sums = heads(model, leaf, t, d, opt, device, chunkElements);

            // Backward below the heads: final norm, decoder (re-run layer by layer when checkpointing), embeddings.
            Tensor grad = leaf.grad();
            if (grad != null && normed.requiresGrad()) {
                normed.backward(grad.view(normed.shape()), false);
                if (opt.gradientCheckpointing()) {
                    Tensor g = top.grad();
                    for (int i = layers.size() - 1; i >= 0 && g != null; i--) g = recompute(layers, i, inputs.get(i), m.ctx(), cut, g, seeds);
                    if (g != null && h0.requiresGrad()) h0.backward(g, false);
                }
            }
            HiggsAudioLoss.Result r = sums.result(t, d, opt.loss(), device);
            return new HiggsAudioLoss.Result(Scope.keep(r.total()), Scope.keep(r.text()), Scope.keep(r.audio()), Scope.keep(r.codebookLosses()));
        }
    }

    /**
     * What {@link HiggsAudioLoss#sums} gives for this batch (float64 [2 + 3K]: text sum and count, then per codebook the
     * sums, counts and argmax hits), with the heads on the labelled rows only and in chunks, without a graph.
     */
    public static Tensor evaluationSums(HiggsAudioModel model, HiggsAudioBatch batch, int roundTo) {
        if (batch.labelIds() == null) throw new IllegalArgumentException("an evaluation batch needs label_ids");
        int k = model.config.audioNumCodebooks();
        try (Scope scope = Scope.open(); var g = Torch.noGrad()) {
            HiggsAudioModel.Merged m = model.merge(batch, roundTo, false);
            Tensor h = m.h();
            long hidden = h.size(2);
            Device device = h.device();
            List<HiggsAudioDecoderLayer> layers = model.layers.items();
            Planned p = Planned.of(model, m, batch);
            Targets t = p.targets();
            OnDevice d = p.onDevice();
            for (int i = 0; i < layers.size(); i++) h = layerForward(layers, i, h, m.ctx(), p.cut());
            Tensor normed = model.norm.forward(h).reshape(h.size(0) * h.size(1), hidden);
            // sums stay on the device; the caller reads the result back once per batch
            Tensor textSum = Tensor.zeros(new long[] {1}, DType.FLOAT64, device);
            int chunk = textChunkRows(model.config, CHUNK_ELEMENTS);
            for (int from = 0; from < t.textRows().length; from += chunk) {
                int to = Math.min(t.textRows().length, from + chunk);
                try (Scope s = Scope.open()) {
                    Tensor ce = textLogits(model, normed, d, from, to)
                            .crossEntropy(textLabels(d, from, to), HiggsAudioLoss.IGNORE_INDEX, Tensor.Reduction.SUM, 0.0);
                    textSum = Scope.keep(textSum.add(ce.to(DType.FLOAT64)));
                }
            }
            Tensor audioSums = Tensor.zeros(new long[] {k}, DType.FLOAT64, device), hits = Tensor.zeros(new long[] {k}, DType.FLOAT64, device);
            int audioChunk = audioChunkRows(model.config, CHUNK_ELEMENTS);
            for (int from = 0; from < t.audioRows().length; from += audioChunk) {
                int to = Math.min(t.audioRows().length, from + audioChunk), n = to - from;
                try (Scope s = Scope.open()) {
                    Tensor logits = audioLogits(model, normed, d, from, to);
                    Tensor labels = audioLabels(d, from, to, k);
                    Tensor counted = labels.ne((double) HiggsAudioLoss.IGNORE_INDEX);
                    audioSums = Scope.keep(audioSums.add(logits.crossEntropy(labels, HiggsAudioLoss.IGNORE_INDEX, Tensor.Reduction.NONE, 0.0)
                            .view(n, k).sum(0, false).to(DType.FLOAT64)));
                    hits = Scope.keep(hits.add(logits.argmax(1, false).eq(labels).logicalAnd(counted).view(n, k).sum(0, false)
                            .to(DType.FLOAT64)));
                }
            }
            double[] counts = new double[1 + k];
            counts[0] = t.textCount();
            for (int c = 0; c < k; c++) counts[1 + c] = t.codebookCounts()[c];
            Tensor count = Tensor.of(counts, counts.length).to(device);
            return Scope.keep(Tensor.cat(List.of(textSum, count.narrow(0, 0, 1), audioSums, count.narrow(0, 1, k), hits), 0));
        }
    }

    /** Layer i of the pass: the last one at the cut's positions only when there is a cut. */
    private static Tensor layerForward(List<HiggsAudioDecoderLayer> layers, int i, Tensor h, HiggsAudioDecoderLayer.Context ctx, Cut cut) {
        HiggsAudioDecoderLayer layer = layers.get(i);
        return cut != null && i == layers.size() - 1 ? layer.forwardKept(h, ctx, cut.kept()) : layer.forward(h, ctx);
    }

    /** Layer i re-run with a graph on its saved input, and its output's gradient sent through it: its input's gradient. */
    private static Tensor recompute(List<HiggsAudioDecoderLayer> layers, int i, Tensor input, HiggsAudioDecoderLayer.Context ctx, Cut cut,
                                    Tensor gradOut, long[] seeds) {
        try (Scope s = Scope.open()) {
            Tensor x = input.requiresGrad(true);
            if (seeds != null) Torch.manualSeed(seeds[i]);
            Tensor y = layerForward(layers, i, x, ctx, cut);
            if (!y.requiresGrad()) return null; // nothing below or in this layer is trained
            y.backward(gradOut, false);
            Tensor g = x.grad();
            return g == null ? null : Scope.keep(g);
        }
    }

    /** One seed per layer when LoRA dropout is active in training mode, else null (no random draw in a layer). */
    private static long[] layerSeeds(HiggsAudioModel model) {
        boolean dropout = false;
        for (Module mod : model.namedModules().values()) {
            if (mod instanceof Linear l && l.lora() != null && l.lora().dropout > 0 && l.isTraining()) dropout = true;
        }
        if (!dropout) return null;
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            double[] u = Tensor.rand(new long[] {model.layers.size()}, DType.FLOAT64, Device.CPU).toDoubleArray();
            long[] seeds = new long[u.length];
            for (int i = 0; i < u.length; i++) seeds[i] = (long) (u[i] * (1L << 53));
            return seeds;
        }
    }

    /**
     * The rows the heads run on and their labels, from the batch on the host: text rows are flat positions b*L + p
     * whose label at p + 1 is counted; audio rows are the flat positions of audio-out columns i whose labels at column
     * i + 1 have a counted codebook (audioLabels: K per row). hasAudioOut: the batch had audio-out at all.
     */
    record Targets(long[] textRows, long[] textLabels, boolean hasAudioOut, long[] audioRows, long[] audioLabels,
                   long textCount, long[] codebookCounts) {

        static Targets of(HiggsAudioConfig config, AudioMerge plan, long length, Tensor audioLabels) {
            long[] labels = plan.labels();
            long rows = labels.length / length;
            long[] textRows = new long[labels.length], textLabels = new long[labels.length];
            int n = 0;
            for (long r = 0; r < rows; r++) {
                for (long p = 0; p + 1 < length; p++) {
                    long y = labels[(int) (r * length + p + 1)];
                    if (y == HiggsAudioLoss.IGNORE_INDEX) continue;
                    textRows[n] = r * length + p;
                    textLabels[n++] = y;
                }
            }
            int k = config.audioNumCodebooks();
            long[] out = plan.audioOutPositions();
            long[] counts = new long[k];
            if (audioLabels == null || out.length == 0) {
                return new Targets(Arrays.copyOf(textRows, n), Arrays.copyOf(textLabels, n), out.length > 0, new long[0], new long[0], n, counts);
            }
            if (audioLabels.dim() != 2 || audioLabels.size(0) != k || audioLabels.size(1) != out.length) {
                throw new IllegalArgumentException("audio labels " + audioLabels + " must be [" + k + ", " + out.length
                        + "] (one column per audio-out position)");
            }
            long[] al = audioLabels.toLongArray();
            int cols = out.length;
            long[] audioRows = new long[cols];
            long[] picked = new long[k * cols];
            int m = 0;
            for (int i = 0; i + 1 < cols; i++) {
                boolean any = false;
                for (int c = 0; c < k; c++) any |= al[c * cols + i + 1] != HiggsAudioLoss.IGNORE_INDEX;
                if (!any) continue;
                for (int c = 0; c < k; c++) {
                    long y = al[c * cols + i + 1];
                    picked[m * k + c] = y;
                    if (y != HiggsAudioLoss.IGNORE_INDEX) counts[c]++;
                }
                audioRows[m++] = out[i];
            }
            return new Targets(Arrays.copyOf(textRows, n), Arrays.copyOf(textLabels, n), true, Arrays.copyOf(audioRows, m),
                    Arrays.copyOf(picked, m * k), n, counts);
        }
    }

    /**
     * What the heads read of a merged batch, planned on the host before the decoder's work is queued (on CUDA a
     * blocking copy either way waits for the device, which later would idle it while the host caught up): the targets,
     * renumbered to the kept slots when the last layer is cut, the cut (or null), and the targets' rows on the device.
     */
    private record Planned(Targets targets, Cut cut, OnDevice onDevice) {
        static Planned of(HiggsAudioModel model, HiggsAudioModel.Merged m, HiggsAudioBatch batch) {
            Targets all = Targets.of(model.config, m.plan(), m.plan().length(), batch.labelAudioIds());
            Cut cut = Cut.of(all, m, model.layers.items().getLast());
            Targets t = cut == null ? all : cut.targets();
            return new Planned(t, cut, OnDevice.of(t, m.h().device()));
        }
    }

    /**
     * The last decoder layer cut to the positions the heads read: its output elsewhere feeds nothing (the keys and
     * values of every position are still computed there, since the kept queries attend to them). kept: what
     * {@link HiggsAudioDecoderLayer#forwardKept} takes; targets: the batch's targets with their rows renumbered to the
     * kept slots (b n + k).
     */
    record Cut(HiggsAudioDecoderLayer.Kept kept, Targets targets) {

        /** The cut for these targets, or null when the last layer reads every position anyway or cannot be cut. */
        static Cut of(Targets t, HiggsAudioModel.Merged m, HiggsAudioDecoderLayer last) {
            AudioMerge plan = m.plan();
            int b = plan.batch(), length = plan.length();
            if (!last.canCut()) return null;
            boolean[] read = new boolean[b * length];
            for (long r : t.textRows()) read[(int) r] = true;
            for (long r : t.audioRows()) read[(int) r] = true;
            int[] counts = new int[b];
            int n = 0;
            for (int i = 0; i < read.length; i++) if (read[i]) n = Math.max(n, ++counts[i / length]);
            if (n == 0 || n == length) return null;
            long[] mask = plan.attentionMask();
            long[] flat = new long[b * n], position = new long[b * n], slot = new long[b * length];
            for (int r = 0; r < b; r++) {
                // a row's spare slots repeat a real position of it (their outputs are never read, but a query must
                // see at least one key, or its softmax has no terms)
                int spare = -1;
                for (int p = 0; p < length && spare < 0; p++) if (mask[r * length + p] != 0) spare = p;
                if (spare < 0) return null; // a row of padding only: run the layer whole
                int k = 0;
                for (int p = 0; p < length; p++) {
                    if (!read[r * length + p]) continue;
                    slot[r * length + p] = (long) r * n + k;
                    flat[r * n + k] = (long) r * length + p;
                    position[r * n + k++] = p;
                }
                for (; k < n; k++) {
                    flat[r * n + k] = (long) r * length + spare;
                    position[r * n + k] = spare;
                }
            }
            boolean[] audio = new boolean[b * length];
            for (long p : plan.audioPositions()) audio[(int) p] = true;
            long[] audioSlots = new long[b * n], textSlots = new long[b * n];
            int na = 0, nt = 0;
            for (int k = 0; k < b * n; k++) {
                if (audio[(int) flat[k]]) audioSlots[na++] = k;
                else textSlots[nt++] = k;
            }
            Device device = m.h().device();
            // query k may look at key j when j <= its position and j is not padding
            Tensor look = Tensor.arange(length).to(device).view(1, 1, 1, length)
                    .le(Tensor.of(position, b, 1, n, 1).to(device))
                    .logicalAnd(m.attention().view(b, 1, 1, length).ne(0.0));
            HiggsAudioDecoderLayer.Kept kept = new HiggsAudioDecoderLayer.Kept(n, Tensor.of(flat).to(device), look,
                    Tensor.of(Arrays.copyOf(audioSlots, na)).to(device), Tensor.of(Arrays.copyOf(textSlots, nt)).to(device));
            long[] textRows = t.textRows().clone(), audioRows = t.audioRows().clone();
            for (int i = 0; i < textRows.length; i++) textRows[i] = slot[(int) textRows[i]];
            for (int i = 0; i < audioRows.length; i++) audioRows[i] = slot[(int) audioRows[i]];
            return new Cut(kept, new Targets(textRows, t.textLabels(), t.hasAudioOut(), audioRows, t.audioLabels(),
                    t.textCount(), t.codebookCounts()));
        }
    }

    /**
     * The targets' rows and labels on the device the heads run on, copied once: text rows and labels [n], audio rows
     * [m] and labels [m K] (int64), and the codebooks' counts [K] (float32, at least 1, the divisors of their losses).
     */
    record OnDevice(Tensor textRows, Tensor textLabels, Tensor audioRows, Tensor audioLabels, Tensor codebookCounts) {
        static OnDevice of(Targets t, Device device) {
            float[] counts = new float[t.codebookCounts().length];
            for (int c = 0; c < counts.length; c++) counts[c] = Math.max(1, t.codebookCounts()[c]);
            return new OnDevice(Tensor.of(t.textRows()).to(device), Tensor.of(t.textLabels()).to(device),
                    Tensor.of(t.audioRows()).to(device), Tensor.of(t.audioLabels()).to(device), Tensor.of(counts).to(device));
        }
    }

    /** The detached cross-entropy sums the losses are made of: text [] and per codebook [K], float32. */
    private record Sums(Tensor text, Tensor codebooks) {
        HiggsAudioLoss.Result result(Targets t, OnDevice d, HiggsAudioLoss.Options loss, Device device) {
            try (Scope s = Scope.open(); var g = Torch.noGrad()) {
                Tensor textLoss = text.div(Tensor.full(new long[] {}, Math.max(1, t.textCount()), DType.FLOAT32, device));
                Tensor codebookLosses = t.hasAudioOut() ? codebooks.div(d.codebookCounts()) : null;
                HiggsAudioLoss.Result r = HiggsAudioLoss.combine(textLoss, codebookLosses, loss);
                return new HiggsAudioLoss.Result(Scope.keep(r.total()), Scope.keep(r.text()), Scope.keep(r.audio()), Scope.keep(r.codebookLosses()));
            }
        }
    }

    /**
     * Both heads on their rows of leaf (the final-norm hidden states [B*L, hidden], a graph leaf), chunk by chunk, each
     * chunk's share of gradientScale * total sent back at once: leaf's gradient and the heads' (when trained) add up.
     */
    private static Sums heads(HiggsAudioModel model, Tensor leaf, Targets t, OnDevice d, Options opt, Device device, long chunkElements) {
        HiggsAudioConfig config = model.config;
        HiggsAudioLoss.Options loss = opt.loss();
        Tensor textSum = Tensor.zeros(new long[] {}, DType.FLOAT32, device);
        double textWeight = opt.gradientScale() * loss.textLossWeight() / Math.max(1, t.textCount());
        int chunk = textChunkRows(config, chunkElements);
        for (int from = 0; from < t.textRows().length; from += chunk) {
            int to = Math.min(t.textRows().length, from + chunk);
            try (Scope s = Scope.open()) {
                Tensor ce = textLogits(model, leaf, d, from, to)
                        .crossEntropy(textLabels(d, from, to), HiggsAudioLoss.IGNORE_INDEX, Tensor.Reduction.SUM, 0.0);
                sendBack(ce.mul(Tensor.full(new long[] {}, textWeight, DType.FLOAT32, device)));
                textSum = Scope.keep(textSum.add(ce.detach()));
            }
        }
        int k = config.audioNumCodebooks();
        Tensor codebookSums = Tensor.zeros(new long[] {k}, DType.FLOAT32, device);
        if (t.audioRows().length == 0) return new Sums(textSum, codebookSums);
        // d total / d (sum of codebook c's cross-entropies) = (1/K for MEAN, 1 for SUM) / count_c, made on the device
        double reduce = loss.audioReduction() == HiggsAudioLoss.AudioReduction.MEAN ? 1.0 / k : 1.0;
        Tensor weights = Tensor.full(new long[] {k}, opt.gradientScale() * reduce, DType.FLOAT32, device).div(d.codebookCounts());
        int audioChunk = audioChunkRows(config, chunkElements);
        for (int from = 0; from < t.audioRows().length; from += audioChunk) {
            int to = Math.min(t.audioRows().length, from + audioChunk);
            try (Scope s = Scope.open()) {
                Tensor perCodebook = audioLogits(model, leaf, d, from, to)
                        .crossEntropy(audioLabels(d, from, to, k), HiggsAudioLoss.IGNORE_INDEX, Tensor.Reduction.NONE, 0.0)
                        .view(to - from, k).sum(0, false);                                          // [K]
                sendBack(perCodebook.mul(weights).sum());
                codebookSums = Scope.keep(codebookSums.add(perCodebook.detach()));
            }
        }
        return new Sums(textSum, codebookSums);
    }

    /** Rows of text logits per chunk: rows x vocabulary stays under chunkElements. */
    private static int textChunkRows(HiggsAudioConfig c, long chunkElements) {
        return (int) Math.max(1, chunkElements / c.textConfig().vocabSize());
    }

    /** Audio-out rows per chunk: rows x K x (C + 2) stays under chunkElements. */
    private static int audioChunkRows(HiggsAudioConfig c, long chunkElements) {
        return (int) Math.max(1, chunkElements / ((long) c.audioNumCodebooks() * (c.audioCodebookSize() + 2)));
    }

    /** Float32 text logits [to - from, vocab] of text rows from..to-1 of hidden. */
    private static Tensor textLogits(HiggsAudioModel model, Tensor hidden, OnDevice d, int from, int to) {
        Tensor rows = hidden.indexSelect(0, d.textRows().narrow(0, from, to - from));
        return model.audioDecoderProj.textLmHead.forward(rows).to(DType.FLOAT32);
    }

    private static Tensor textLabels(OnDevice d, int from, int to) {
        return d.textLabels().narrow(0, from, to - from);
    }

    /**
     * Float32 audio logits of audio rows from..to-1 of hidden, one row per (position, codebook): [(to - from) K, C + 2],
     * a contiguous cross-entropy rather than K of them or a strided one.
     */
    private static Tensor audioLogits(HiggsAudioModel model, Tensor hidden, OnDevice d, int from, int to) {
        Tensor rows = hidden.indexSelect(0, d.audioRows().narrow(0, from, to - from));
        long n = (long) (to - from) * model.config.audioNumCodebooks();
        return model.audioDecoderProj.audioLmHead.forward(rows).view(n, model.config.audioCodebookSize() + 2).to(DType.FLOAT32);
    }

    /** The labels [(to - from) K] matching {@link #audioLogits}. */
    private static Tensor audioLabels(OnDevice d, int from, int to, int k) {
        return d.audioLabels().narrow(0, (long) from * k, (long) (to - from) * k);
    }

    private static void sendBack(Tensor share) {
        if (share.requiresGrad()) share.backward(null, false);
    }
}
