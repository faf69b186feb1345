package io.higgs4j.trainer.train;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.torch.DType;

import java.util.Locale;

/**
 * What a training step needs per device, before anything is allocated: weights, trainable weights, gradients,
 * optimizer state and activations. Parameter counts come from the shape-only model (with LoRA applied on the meta
 * device); activations are counted from the tensors autograd keeps per decoder layer in this implementation
 * (TrainingPass), per token:
 * <ul>
 *   <li>attention: the layer input and the normed input (2 H), q, the attention output and its reshaped copy (3 n d),
 *       k and v (2 kv d), the log-sum-exp (n);</li>
 *   <li>MLP: the post-attention rows and their norm (2 H), gate, silu(gate), up and their product (4 I);</li>
 *   <li>LoRA: each adapter's rank-r activation (7 r);</li>
 * </ul>
 * in the activation dtype. With gradient checkpointing only each layer's input is kept, plus one layer re-run at a
 * time. On top: the final norm, one chunk of head logits with its log-softmax and gradient (float32), the additive
 * attention masks (B T^2), and backward's transient gradients (one layer's worth). The sum, the head chunk aside
 * (three tensors of known size), is multiplied by {@link #OVERHEAD}, measured on CPU (libtorch 2.13, glibc malloc
 * with bin/malloc-env.sh's settings) against the peak resident set of the small preset's step: what this count misses
 * (kernels' temporaries, the allocator's fragmentation). It is a plan, not a bound: on CUDA, where the caching allocator rounds blocks up, compare it with the
 * peak the trainer prints at the end.
 */
public record MemoryPlan(long weights, long trainableWeights, long gradients, long optimizerState, long activations,
                         long runtime, int nproc, long totalParameters, long trainableParameters) {

    /**
     * Measured peak of the activations over the counted tensors (see the class comment): 1.75 on the small preset at
     * 1 x 512 and 1 x 1024 (MemoryPlanTest prints the four cases it checks).
     */
    static final double OVERHEAD = 1.75;

    /** What the process holds beyond the tensors once it has run a step on CPU: kernel workspaces, allocator (measured). */
    static final long RUNTIME = 64L << 20;

    /**
     * The same on CUDA, where the trainer's peak is device memory in use: the CUDA context and cuBLAS's workspace, about
     * half a GiB on an H200 with CUDA 13 and torch 2.11 (the small preset's model and a few matmul buffers showed 1.1 GiB
     * in use, of which about 0.6 GiB were tensors and the allocator's cache).
     */
    static final long RUNTIME_CUDA = 512L << 20;

    /** What is trained: LoRA adapters (and modules_to_save copies), or every weight of the text and audio paths. */
    public enum Finetune {
        LORA, FULL;

        /** The value of --finetune (train and params): lora or full. */
        public static Finetune parse(String option) {
            return switch (option) {
                case "lora" -> LORA;
                case "full" -> FULL;
                default -> throw new IllegalArgumentException("--finetune must be lora or full, got '" + option + "'");
            };
        }
    }

    /**
     * lora is the adapter configuration with Finetune.LORA (ignored with FULL); dtype is the frozen base's (bf16 or
     * float32); trained weights are float32 either way.
     */
    public record Request(HiggsAudioConfig config, Finetune finetune, LoraConfig lora, DType dtype, int batchSize, int seqLen,
                          boolean gradientCheckpointing, int nproc, boolean cuda) {
        public Request {
            if (batchSize < 1) throw new IllegalArgumentException("--batch_size must be >= 1, got " + batchSize);
            if (seqLen < 1) throw new IllegalArgumentException("--seq_len must be >= 1, got " + seqLen);
            if (nproc < 1) throw new IllegalArgumentException("--nproc must be >= 1, got " + nproc);
            if (dtype != DType.FLOAT32 && dtype != DType.BFLOAT16) throw new IllegalArgumentException("--dtype must be bf16 or fp32, got " + dtype);
            if (finetune == Finetune.LORA && lora == null) throw new IllegalArgumentException("a LoRA plan needs the LoRA configuration");
        }
    }

    public long perDevice() {
        return weights + trainableWeights + gradients + optimizerState + activations + runtime;
    }

    public static MemoryPlan estimate(Request r) {
        HiggsAudioConfig c = r.config();
        long total, trainable, frozenInBase;
        try (HiggsAudioModel model = HiggsAudioModel.shapeOnly(c)) {
            long base = model.parameterCount();
            if (r.finetune() == Finetune.FULL) {
                long tower = model.whisper == null ? 0 : model.whisper.audioTower.parameterCount();
                total = base;
                trainable = base - tower;         // the Whisper tower stays frozen
                frozenInBase = tower;
            } else {
                try (LoraModel lora = LoraModel.apply(model, r.lora(), Init.meta())) {
                    LoraModel.Stats st = lora.stats();
                    total = st.total();
                    trainable = st.trainable();
                    frozenInBase = total - trainable; // the originals of modules_to_save stay in the base, beside their copies
                }
            }
        }
        long baseBytes = r.dtype().elementSize();
        long weights = frozenInBase * baseBytes;
        long trainableWeights = trainable * 4;
        long gradients = trainable * 4;
        long optimizer = trainable * 8;   // AdamW's two moments in float32
        return new MemoryPlan(weights, trainableWeights, gradients, optimizer, activations(r), r.cuda() ? RUNTIME_CUDA : RUNTIME,
                r.nproc(), total, trainable);
    }

    /** Activation bytes of one micro-batch (see the class comment). */
    static long activations(Request r) {
        HiggsAudioConfig c = r.config();
        HiggsAudioConfig.LlamaConfig t = c.textConfig();
        long h = t.hiddenSize(), nd = (long) t.numAttentionHeads() * t.headDim(), kvd = (long) t.numKeyValueHeads() * t.headDim();
        long inter = Math.max(t.intermediateSize(), c.audioFfnIntermediateSize());
        long rank = r.finetune() == Finetune.LORA ? r.lora().r() : 0;
        // full fine-tuning computes in the trained weights' float32; LoRA in the base dtype
        long a = r.finetune() == Finetune.FULL ? 4 : r.dtype().elementSize();
        long tokens = (long) r.batchSize() * r.seqLen();
        double layer = (4.0 * h + 3.0 * nd + 2.0 * kvd + t.numAttentionHeads() + 4.0 * inter + 7.0 * rank) * a;
        int layers = t.numHiddenLayers();
        double kept = r.gradientCheckpointing() ? layers * h * a + layer : layers * layer;
        long vocab = t.vocabSize(), audioClasses = (long) c.audioNumCodebooks() * (c.audioCodebookSize() + 2);
        double heads = Math.max(chunkRows(tokens, vocab) * vocab, chunkRows(tokens, audioClasses) * audioClasses) * 4.0 * 3;
        double top = 2.0 * h * a + h * 4.0;                                   // final norm, and its float32 gradient
        long masks = c.audioAdapterType().contains("fast_forward") ? 2 : 1;
        double mask = masks * (double) r.batchSize() * r.seqLen() * r.seqLen() * a;
        double backward = layer;                                              // backward's gradients of one layer
        // the head chunks are three exact-size tensors, not the many small per-op tensors the overhead factor is for
        return (long) (OVERHEAD * (tokens * (kept + top + backward) + mask) + heads);
    }

    /** Rows of head logits alive at once: one chunk of TrainingPass (2^24 elements), at most every token. */
    private static long chunkRows(long tokens, long classes) {
        return Math.min(tokens, Math.max(1, (1L << 24) / classes));
    }

    /** The plan as printed by params --memory and at the start of training. */
    public String describe(Request r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Memory plan: %s fine-tuning, base in %s, batch %d x %d tokens%s, %d %s device%s%n",
                r.finetune() == Finetune.LORA ? "LoRA r=" + r.lora().r() : "full", r.dtype() == DType.BFLOAT16 ? "bf16" : "fp32",
                r.batchSize(), r.seqLen(), r.gradientCheckpointing() ? ", gradient checkpointing" : "", nproc, r.cuda() ? "CUDA" : "CPU",
                nproc == 1 ? "" : "s"));
        sb.append(String.format(Locale.ROOT, "  parameters: %,d, trained %,d%n", totalParameters, trainableParameters));
        row(sb, "weights (frozen)", weights);
        row(sb, "trainable weights (fp32)", trainableWeights);
        row(sb, "gradients (fp32)", gradients);
        row(sb, "optimizer state (AdamW, fp32)", optimizerState);
        row(sb, "activations per step", activations);
        row(sb, r.cuda() ? "runtime (CUDA context, workspaces)" : "runtime (workspaces, allocator)", runtime);
        row(sb, "total per device", perDevice());
        if (nproc > 1) row(sb, "total on " + nproc + " devices", perDevice() * nproc);
        return sb.toString();
    }

    private static void row(StringBuilder sb, String what, long bytes) {
        sb.append(String.format(Locale.ROOT, "  %-32s %s%n", what + ":", human(bytes)));
    }

    public static String human(long bytes) {
        if (bytes >= 1L << 30) return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }
}
