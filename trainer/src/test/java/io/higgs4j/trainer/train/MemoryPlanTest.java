package io.higgs4j.trainer.train;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.lora.LoraConfig;
import io.higgs4j.torch.DType;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The memory plan against hand counts and against the measured peak of the same step on CPU (child JVMs). */
class MemoryPlanTest {

    static final LoraConfig LORA = LoraConfig.of(16, 32, 0.05, "comprehensive", List.of());

    private static MemoryPlan.Request request(String preset, MemoryPlan.Finetune f, DType dtype, int batch, int seq, boolean ckpt) {
        return new MemoryPlan.Request(HiggsAudioConfig.preset(preset), f, LORA, dtype, batch, seq, ckpt, 1, false);
    }

    @Test
    void countsFollowTheParameters() {
        MemoryPlan lora = MemoryPlan.estimate(request("tiny", MemoryPlan.Finetune.LORA, DType.BFLOAT16, 1, 256, false));
        // tiny: 2 layers of hidden 64; LoRA r=16 on q,k,v,o (64->64, 64->32 twice, 64->64), mlp and audio_mlp (64->128 x2, 128->64)
        long attention = 16 * ((64 + 64) + (64 + 32) + (64 + 32) + (64 + 64));
        long mlp = 16 * ((64 + 128) + (64 + 128) + (128 + 64));
        assertEquals(2 * (attention + 2 * mlp), lora.trainableParameters());
        assertEquals(4 * lora.trainableParameters(), lora.gradients());
        assertEquals(8 * lora.trainableParameters(), lora.optimizerState());
        assertEquals(2 * (lora.totalParameters() - lora.trainableParameters()), lora.weights(), "frozen base in bf16");
        MemoryPlan full = MemoryPlan.estimate(request("tiny", MemoryPlan.Finetune.FULL, DType.FLOAT32, 1, 256, false));
        assertEquals(full.totalParameters(), full.trainableParameters() + full.weights() / 4, "only the Whisper tower stays frozen");
        MemoryPlan ckpt = MemoryPlan.estimate(request("tiny", MemoryPlan.Finetune.LORA, DType.BFLOAT16, 1, 256, true));
        assertTrue(ckpt.activations() < lora.activations(), "checkpointing keeps less");
        MemoryPlan twice = MemoryPlan.estimate(request("tiny", MemoryPlan.Finetune.LORA, DType.BFLOAT16, 2, 256, false));
        assertTrue(twice.activations() > 1.9 * lora.activations());
    }

    @Test
    void estimateIsWithinAQuarterOfTheMeasuredPeakOnCpu() throws Exception {
        List<String> failures = new ArrayList<>();
        for (Object[] c : new Object[][] {{1, 512, false}, {2, 512, true}}) {
            int batch = (int) c[0], seq = (int) c[1];
            boolean ckpt = (boolean) c[2];
            long measured = measure(batch, seq, ckpt);
            long estimate = MemoryPlan.estimate(request("small", MemoryPlan.Finetune.LORA, DType.FLOAT32, batch, seq, ckpt)).perDevice();
            double ratio = estimate / (double) measured;
            String line = String.format("small %d x %d%s: estimate %s, measured peak %s, ratio %.2f", batch, seq,
                    ckpt ? " checkpointed" : "", MemoryPlan.human(estimate), MemoryPlan.human(measured), ratio);
            System.out.println("memory plan, " + line);
            if (!(ratio > 0.75 && ratio < 1.25)) failures.add(line);
        }
        assertTrue(failures.isEmpty(), "estimates off by more than 25%: " + failures);
    }

    /** The probe's peak in a child JVM whose Java heap is committed before it measures (so the peak is native). */
    private static long measure(int batch, int seq, boolean ckpt) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), MemoryProbe.class.getName(), "small", Integer.toString(batch),
                Integer.toString(seq), Boolean.toString(ckpt)));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        // bin/higgs4j's malloc settings (bin/malloc-env.sh), as the trainer runs
        pb.environment().put("MALLOC_MMAP_THRESHOLD_", "4294967296");
        pb.environment().put("MALLOC_TOP_PAD_", "1073741824");
        pb.environment().put("MALLOC_TRIM_THRESHOLD_", "17179869184");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        for (String line : out.split("\n")) {
            if (line.startsWith("peak_bytes ")) return Long.parseLong(line.substring(11).trim());
        }
        throw new AssertionError("no peak in the probe's output:\n" + out);
    }
}
