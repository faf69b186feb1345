package io.higgs4j.benchmarks;

import io.higgs4j.torch.Torch;

import java.util.Arrays;
import java.util.Locale;

/**
 * The CPU counterpart of GpuStepTimer, timed exactly as scripts/parity/torch_step_peer.py times PyTorch: five warm-up
 * steps, then STEPS steps, each from before the forward to after the optimizer (or the gradient reset); prints the mean
 * and the median, one line per mode. Run it on the libtorch that PyTorch ships (LIBTORCH=.../site-packages/torch/lib)
 * to compare the two on the same kernels (benchmarks/run-quick.sh does). Args: config (small | tiny), batch, seqLen,
 * steps, modes (lora | fwdbwd, comma-separated; see StepRig), labels (mixed: every text token labelled, the default;
 * voice: a voice-cloning turn's, SyntheticBatch.voiceCloning; the peer takes the same word after its device).
 * <pre>LIBTORCH=... java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar io.higgs4j.benchmarks.CpuStepTimer small 1 256 10 lora,fwdbwd voice</pre>
 */
public final class CpuStepTimer {
    /**
     * Warm-up steps per mode, as the peer: with two, the first mode of a process still paid for faulting in its heap
     * (a pass measured first came out 15-40 % slower than the same pass measured second).
     */
    static final int WARMUP = 5;

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
            try (StepRig rig = new StepRig(which, mode, batch, seq, labels)) {
                rig.pass = pass;
                for (int i = 0; i < steps + WARMUP; i++) {
                    long t0 = System.nanoTime();
                    rig.step();
                    if (i >= WARMUP) times[i - WARMUP] = (System.nanoTime() - t0) / 1e9;
                }
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
