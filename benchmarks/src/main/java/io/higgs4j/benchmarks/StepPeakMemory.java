package io.higgs4j.benchmarks;

import java.util.Locale;

/**
 * Peak memory and time of a LoRA step on CPU, one pass kind per process (the resident set's high-water mark cannot be
 * reset, and glibc keeps freed memory with this project's malloc settings): the process's peak RSS over its RSS once
 * the model, adapters and optimizer are built, and over its RSS before them (libtorch loaded), after 1 warm-up and
 * STEPS timed steps. Run it with a pre-touched Java heap (-Xms256m -Xmx256m -XX:+AlwaysPreTouch) so that the peak is
 * native memory only. Args: config (small | tiny),
 * batch, seqLen, pass (lean | ckpt | plain), steps.
 * <pre>java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar io.higgs4j.benchmarks.StepPeakMemory small 1 2048 ckpt 2</pre>
 */
public final class StepPeakMemory {
    public static void main(String[] args) {
        String which = args[0];
        int batch = Integer.parseInt(args[1]), seq = Integer.parseInt(args[2]);
        StepRig.Pass pass = switch (args[3]) {
            case "lean" -> StepRig.Pass.LEAN;
            case "ckpt" -> StepRig.Pass.CHECKPOINTED;
            case "plain" -> StepRig.Pass.PLAIN;
            default -> throw new IllegalArgumentException("pass must be lean, ckpt or plain, got " + args[3]);
        };
        int steps = Integer.parseInt(args[4]);
        io.higgs4j.torch.Torch.info(); // libtorch loaded before the first measure
        long start = NativeMemoryBenchmark.ProcStatus.read("VmRSS");
        try (StepRig rig = new StepRig(which, StepRig.Mode.LORA, batch, seq)) {
            rig.pass = pass;
            long base = NativeMemoryBenchmark.ProcStatus.read("VmRSS");
            rig.step();
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) rig.step();
            double ms = (System.nanoTime() - t0) / 1e6 / steps;
            long hwm = NativeMemoryBenchmark.ProcStatus.read("VmHWM");
            System.out.printf(Locale.ROOT, "step_peak %s batch %d seq %d pass %s: peak_rss_over_model_mib %.1f peak_rss_over_start_mib %.1f step_ms %.1f%n",
                    which, batch, seq, args[3], (hwm - base) / 1048576.0, (hwm - start) / 1048576.0, ms);
        }
    }
}
