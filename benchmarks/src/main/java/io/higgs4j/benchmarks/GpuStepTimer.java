package io.higgs4j.benchmarks;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * For the GPU machine (scripts/gpu-bench.sh): the bf16 matmul ceiling, then LoRA training steps (the trainer's
 * TrainingPass, fused AdamW; StepRig's step) of a Higgs config in bf16 on cuda:0 for a list of batch sizes, with tokens/s, MFU
 * against that ceiling, and the device memory in use after the size's steps. Args: config (small | tiny | path to
 * config.json), steps, sizes as BxT[:ckpt|:plain] separated by commas (":ckpt" turns gradient checkpointing on,
 * ":plain" times the plain pass instead: full logits, the loss, one backward), and optionally labels (mixed, the
 * default, or voice: SyntheticBatch.voiceCloning; the peer takes the same word after its device). "host" is the part of a step before its
 * final synchronise: when it is close to the step, the step is bound by the host, not by the GPU. One model
 * and one optimizer serve every size; list sizes in ascending memory order, since the caching allocator keeps what it
 * reserved and "memory in use" (cudaMemGetInfo: total minus free) is then the peak so far.
 */
public final class GpuStepTimer {
    private static final int WARMUP = 5; // as the peer

    public static void main(String[] args) throws Exception {
        StepRig.Labels labels = null;
        try {
            if (args.length == 3 || args.length == 4) labels = StepRig.Labels.parse(args.length == 4 ? args[3] : "mixed");
        } catch (IllegalArgumentException e) {
            // the usage below says what is allowed
        }
        if (labels == null) {
            System.err.println("usage: GpuStepTimer CONFIG(small|tiny|config.json) STEPS SIZES(BxT[:ckpt],...) [LABELS(mixed|voice)]");
            System.exit(2);
        }
        Device cuda = Device.cuda(0);
        String which = args[0];
        int steps = Integer.parseInt(args[1]);
        double ceiling = matmulTflops(cuda);
        System.out.printf("bf16 matmul 8192^3: %.0f TFLOP/s%n", ceiling);
        HiggsAudioConfig c = HiggsAudioConfig.PRESETS.contains(which) ? HiggsAudioConfig.preset(which) : HiggsAudioConfig.fromFile(Path.of(which));
        List<Size> sizes = Arrays.stream(args[2].split(",")).map(Size::parse).toList();
        warmJit(cuda, labels, sizes.stream().map(Size::pass).collect(Collectors.toCollection(() -> EnumSet.noneOf(StepRig.Pass.class))));
        long t0 = System.nanoTime();
        try (StepRig rig = new StepRig(c, StepRig.Mode.LORA, DType.BFLOAT16, cuda)) {
            Torch.cudaSynchronize(0);
            System.out.printf("%s: %,d parameters built on cuda:0 in %.1f s, memory in use %.1f GiB%n", which, rig.parameterCount(),
                    (System.nanoTime() - t0) / 1e9, Torch.cudaMemoryInUse() / (double) (1L << 30));
            for (Size size : sizes) {
                int batch = size.batch(), seq = size.seq();
                boolean ckpt = size.pass() == StepRig.Pass.CHECKPOINTED, plain = size.pass() == StepRig.Pass.PLAIN;
                rig.pass = size.pass();
                rig.use(batch, seq, labels);
                try {
                    double[] t = time(rig, steps);
                    double step = t[0], tokens = (double) batch * seq;
                    System.out.printf("%s LoRA step, batch %d x %d tokens, %s labels, bf16%s: %.1f ms (host %.1f ms), %.0f tokens/s, MFU %.3f, memory in use %.1f GiB%n",
                            which, batch, seq, labels.word(), ckpt ? ", checkpointing" : plain ? ", plain pass" : "", step * 1e3, t[1] * 1e3, tokens / step,
                            flops(c, batch, seq) / step / (ceiling * 1e12), Torch.cudaMemoryInUse() / (double) (1L << 30));
                } catch (RuntimeException e) { // out of memory at this size: say so, go on with the next
                    System.out.printf("%s LoRA step, batch %d x %d tokens, bf16%s: failed: %s%n", which, batch, seq,
                            ckpt ? ", checkpointing" : "", e.getMessage().lines().findFirst().orElse(""));
                    rig.resetGradients();
                }
            }
        }
    }

    /** One entry of SIZES: BxT, with ":ckpt" for the checkpointed pass or ":plain" for the plain one. */
    record Size(int batch, int seq, StepRig.Pass pass) {
        static Size parse(String size) {
            String[] bt = size.replaceAll(":.*", "").split("x");
            StepRig.Pass pass = size.endsWith(":ckpt") ? StepRig.Pass.CHECKPOINTED : size.endsWith(":plain") ? StepRig.Pass.PLAIN : StepRig.Pass.LEAN;
            return new Size(Integer.parseInt(bt[0]), Integer.parseInt(bt[1]), pass);
        }
    }

    /** Seconds of tiny-model steps per pass before the timed model is built. */
    static final double JIT_WARMUP_SECONDS = 4.0;

    /**
     * Runs the tiny preset's LoRA step on the device, in bf16 with the same labels, for JIT_WARMUP_SECONDS per pass the
     * sizes use, so that the timed steps run compiled code. Our JVM compiles the model's code while it runs: on CPU
     * the tiny step took 16.1-16.5 ms over its first 20 steps with C1 only and 35.5 ms with the default JIT (C1, then C2,
     * as on a GPU host's many cores), and 8.5-9.7 ms after about 150 steps either way (benchmarks/README.md, "Warm-up").
     * The 5 warm-up steps of a size do not get there: a layer method runs once per layer and step, and HotSpot compiles
     * it after about 200 calls. The code is the same for every config, so the tiny model warms it in seconds where the
     * 3B model's steps would take minutes of device time.
     */
    static void warmJit(Device device, StepRig.Labels labels, Set<StepRig.Pass> passes) {
        long t0 = System.nanoTime();
        int n = 0;
        try (StepRig rig = new StepRig(HiggsAudioConfig.preset("tiny"), StepRig.Mode.LORA, DType.BFLOAT16, device)) {
            rig.use(1, 64, labels);
            for (StepRig.Pass pass : passes) {
                rig.pass = pass;
                long start = System.nanoTime();
                while (System.nanoTime() - start < JIT_WARMUP_SECONDS * 1e9) {
                    rig.step();
                    n++;
                }
            }
        }
        System.out.printf("JIT warm-up: %d steps of the tiny preset in %.1f s%n", n, (System.nanoTime() - t0) / 1e9);
    }

    /** Mean seconds of a step after the warm-ups, and of its host part (before the final synchronise). */
    static double[] time(StepRig rig, int steps) {
        double total = 0, host = 0;
        for (int i = 0; i < steps + WARMUP; i++) {
            long s0 = System.nanoTime();
            rig.stepQueued();
            long s1 = System.nanoTime();
            Torch.cudaSynchronize(0);
            if (i >= WARMUP) {
                total += (System.nanoTime() - s0) / 1e9;
                host += (s1 - s0) / 1e9;
            }
        }
        return new double[] {total / steps, host / steps};
    }

    /**
     * Model FLOPs of a step, as the peer counts them: 6 per linear weight on a token's path (attention projections and
     * the token's MLP; the text head on the half of the tokens that are text, the audio head on the audio half), plus
     * 12 x layers x hidden x length per token for attention (Megatron's count, causal mask not halved).
     */
    static double flops(HiggsAudioConfig c, int batch, int seq) {
        var t = c.textConfig();
        double h = t.hiddenSize(), kv = (double) t.numKeyValueHeads() * t.headDim(), q = (double) t.numAttentionHeads() * t.headDim();
        double body = t.numHiddenLayers() * (2 * h * q + 2 * h * kv + 3 * h * t.intermediateSize());
        double heads = (h * t.vocabSize() + h * c.audioVocabSize()) / 2;
        double tokens = (double) batch * seq;
        return 6 * (body + heads) * tokens + 12.0 * t.numHiddenLayers() * h * seq * tokens;
    }

    static double matmulTflops(Device cuda) {
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            Tensor a = Tensor.randn(new long[] {8192, 8192}, DType.BFLOAT16, cuda), b = Tensor.randn(new long[] {8192, 8192}, DType.BFLOAT16, cuda);
            for (int i = 0; i < 3; i++) a.matmul(b).close();
            Torch.cudaSynchronize(0);
            long t0 = System.nanoTime();
            for (int i = 0; i < 10; i++) a.matmul(b).close();
            Torch.cudaSynchronize(0);
            return 10 * 2.0 * Math.pow(8192, 3) / ((System.nanoTime() - t0) / 1e9) / 1e12;
        }
    }
}
