package io.higgs4j.benchmarks;

import io.higgs4j.torch.Torch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The CPU counterpart of GpuStepTimer, timed exactly as scripts/parity/torch_step_peer.py times PyTorch: warm-up steps
 * (at least 10 and 3 s), then STEPS steps, each from before the forward to after the optimizer (or the gradient reset); prints the mean
 * and the median, one line per mode. Run it on the libtorch that PyTorch ships (LIBTORCH=.../site-packages/torch/lib)
 * to compare the two on the same kernels (benchmarks/run-quick.sh does). Args: config (small | tiny), batch, seqLen,
 * steps, modes (lora | fwdbwd, comma-separated; see StepRig), labels (mixed: every text token labelled, the default;
 * voice: a voice-cloning turn's, SyntheticBatch.voiceCloning; the peer takes the same word after its device).
 * <pre>LIBTORCH=... java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar io.higgs4j.benchmarks.CpuStepTimer small 1 256 10 lora,fwdbwd voice</pre>
 */
public final class CpuStepTimer {
    /**
     * Warm-up per mode, as the peer on CPU: at least WARMUP_STEPS steps and at least WARMUP_SECONDS of them, so that
     * both sides are timed in their steady state. Our JVM compiles the model's code while it runs: with C1 only (the
     * launcher's flags on 2 cores), the tiny preset's LoRA step took 16.1-16.5 ms over its first 20 steps and reached
     * its steady 8.7-9.7 ms after 140-160 steps (about 2 s), where PyTorch's steps were flat at 10.4-12.2 ms from the
     * first (-Dcurve=20; results/2026-12-04-warmup-curves.txt). With 10 warm-up steps the timer measured the JIT, not
     * the step (benchmarks/README.md, "Warm-up").
     */
    static final int WARMUP_STEPS = 10;
    static final double WARMUP_SECONDS = 3.0;
    /** With -Dcurve=N, also the median of every N steps from the first (the JIT's warm-up curve); the peer: CURVE=N. */
    static final int CURVE = Integer.getInteger("curve", 0);

    /** Seconds of one step. */
    private static double timedStep(StepRig rig) {
        long t0 = System.nanoTime();
        rig.step();
        return (System.nanoTime() - t0) / 1e9;
    }

    public static void main(String[] args) {
        String which = args.length > 0 ? args[0] : "small";
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 1, seq = args.length > 2 ? Integer.parseInt(args[2]) : 256;
        int steps = args.length > 3 ? Integer.parseInt(args[3]) : 10;
        String[] modes = (args.length > 4 ? args[4] : "lora").split(",");
        StepRig.Labels labels = StepRig.Labels.parse(args.length > 5 ? args[5] : "mixed");
        Torch.RuntimeInfo info = Torch.info();
        System.out.printf("libtorch %s from %s (%s), %d threads%n", info.version(), info.directory(), info.source(), info.threads());
        for (String m : modes) {
            // lora, fwdbwd: the trainer's pass; lora_plain: full logits then backward (as before); lora_ckpt: checkpointed
            String[] parts = m.split("_");
            StepRig.Mode mode = StepRig.Mode.valueOf(parts[0].toUpperCase(Locale.ROOT));
            StepRig.Pass pass = parts.length < 2 ? StepRig.Pass.LEAN : parts[1].equals("plain") ? StepRig.Pass.PLAIN
                    : parts[1].equals("ckpt") ? StepRig.Pass.CHECKPOINTED : null;
            if (pass == null) throw new IllegalArgumentException("unknown mode " + m + ": lora, fwdbwd, with _plain or _ckpt");
            double[] times = new double[steps];
            List<Double> all = new ArrayList<>(); // every step from the first, for -Dcurve
            try (StepRig rig = new StepRig(which, mode, batch, seq, labels)) {
                rig.pass = pass;
                long start = System.nanoTime();
                for (int i = 0; i < WARMUP_STEPS || System.nanoTime() - start < WARMUP_SECONDS * 1e9; i++) all.add(timedStep(rig));
                for (int i = 0; i < steps; i++) all.add(times[i] = timedStep(rig));
            }
            if (CURVE > 0) {
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i + CURVE <= all.size(); i += CURVE) {
                    double[] bucket = all.subList(i, i + CURVE).stream().mapToDouble(Double::doubleValue).sorted().toArray();
                    sb.append(String.format(Locale.ROOT, " %.1f", bucket[CURVE / 2] * 1e3));
                }
                System.out.printf("higgs4j %s %s, median ms of each %d steps from the first (warm-up included):%s%n", which, m, CURVE, sb);
            }
            double mean = Arrays.stream(times).average().orElseThrow();
            double[] sorted = times.clone();
            Arrays.sort(sorted);
            double median = steps % 2 == 1 ? sorted[steps / 2] : (sorted[steps / 2 - 1] + sorted[steps / 2]) / 2;
            System.out.printf(Locale.ROOT, "higgs4j libtorch %s %s %s, batch %d x %d tokens, %s labels, float32 on cpu, %d threads: %.1f ms, %.0f tokens/s, median %.1f ms%n",
                    info.version(), which, (mode == StepRig.Mode.LORA ? "LoRA step" : "forward+backward")
                            + (pass == StepRig.Pass.LEAN ? "" : pass == StepRig.Pass.PLAIN ? " (plain)" : " (checkpointed)"), batch, seq, labels.word(), info.threads(),
                    mean * 1e3, batch * seq / mean, median * 1e3);
        }
    }
}
