package io.higgs4j.trainer;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

class ParamsCommandTest {

    static Path fixture() {
        return io.higgs4j.trainer.data.Fixtures.releasedModel();
    }

    private static String[] run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        var oldOut = System.out;
        var captured = new java.io.PrintStream(out, true, StandardCharsets.UTF_8);
        System.setOut(captured);
        int rc;
        try {
            rc = cl.execute(args);
        } finally {
            System.setOut(oldOut);
        }
        return new String[] {Integer.toString(rc), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void theReleasedConfigHasTheIndexsParameterCount() {
        // model.safetensors.index.json: total_size 11,542,566,912 bytes of bf16 = 5,771,283,456 parameters.
        String[] r = run("params", "--config", fixture().toString());
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("Total parameters: 5,771,283,456"), r[1]);
        // The breakdown adds up to the total.
        Matcher m = Pattern.compile("^  .*?:\\s+([0-9,]+)$", Pattern.MULTILINE).matcher(r[1]);
        long sum = 0;
        int parts = 0;
        while (m.find()) {
            sum += Long.parseLong(m.group(1).replace(",", ""));
            parts++;
        }
        assertEquals(5, parts);
        assertEquals(5_771_283_456L, sum);
    }

    @Test
    void presetsAndBadArguments() {
        String[] r = run("params", "--config", "tiny");
        assertEquals("0", r[0]);
        assertTrue(r[1].matches("(?s).*Total parameters: [0-9]{1,3}(,[0-9]{3})+\\n.*"), r[1]);
        r = run("params", "--config", "no-such-thing");
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("no-such-thing"), r[2]);
        assertFalse(r[2].contains("\tat "), "no stack trace: " + r[2]);
    }

    /**
     * The voice-cloning LoRA of the issue on the 3B config, counted by hand: per layer r(in+out) over q, k, v, o
     * (3072->3072, 3072->1024 twice, 3072->3072), mlp and audio_mlp (3072->8192 twice, 8192->3072), times 28 layers;
     * modules_to_save copies are the two heads and the codebook embedding, and PEFT counts their frozen originals too.
     */
    @Test
    void loraStatisticsOfTheReleasedConfig() {
        String[] r = run("params", "--config", fixture().toString(), "--lora_r", "16", "--lora_alpha", "32", "--lora_targets",
                "comprehensive", "--modules_to_save", "audio_decoder_proj.text_lm_head,audio_decoder_proj.audio_lm_head,audio_codebook_embeddings");
        assertEquals("0", r[0], r[2]);
        long perLayer = 16L * ((3072 + 3072) * 2 + (3072 + 1024) * 2) + 2 * 16L * ((3072 + 8192) * 3);
        long lora = 28 * perLayer;
        long copies = 128256L * 3072 + 2 * 8208L * 3072;
        long base = 5_771_283_456L;
        long total = base + lora + copies, trainable = lora + copies;
        assertTrue(r[1].contains("Base model parameters: 5,771,283,456"), r[1]);
        assertTrue(r[1].contains(String.format(java.util.Locale.ROOT, "Total parameters: %,d", total)), r[1]);
        assertTrue(r[1].contains(String.format(java.util.Locale.ROOT, "Trainable parameters: %,d (%.2f%%)", trainable, 100.0 * trainable / total)), r[1]);
        assertTrue(r[1].contains(String.format(java.util.Locale.ROOT, "LoRA parameters: %,d (%.2f%%)", lora, 100.0 * lora / total)), r[1]);
        assertTrue(r[1].contains("LoRA-wrapped modules: 280"), r[1]);
    }

    @Test
    void memoryPlanOfTheReleasedModel() {
        // Full fine-tuning of the released model (no Whisper tower): 5,771,283,456 parameters, each with a float32
        // weight, gradient and two AdamW moments: 16 bytes, 86.0 GiB before activations.
        String[] r = run("params", "--config", fixture().toString(), "--memory", "--finetune", "full", "--seq_len", "1024");
        assertEquals("0", r[0], r[2]);
        String full = r[1].replaceAll(" +", " ");
        assertTrue(full.contains("trainable weights (fp32): 21.50 GiB"), r[1]);
        assertTrue(full.contains("gradients (fp32): 21.50 GiB"), r[1]);
        assertTrue(full.contains("optimizer state (AdamW, fp32): 43.00 GiB"), r[1]);
        // LoRA r=16 on a bf16 base: the frozen weights take 2 bytes each
        String[] l = run("params", "--config", fixture().toString(), "--memory", "--lora_r", "16", "--gradient_checkpointing");
        assertEquals("0", l[0], l[2]);
        assertTrue(l[1].contains("Memory plan: LoRA r=16 fine-tuning, base in bf16, batch 1 x 2048 tokens, gradient checkpointing"), l[1]);
        assertTrue(l[1].replaceAll(" +", " ").contains("weights (frozen): 10.7"), l[1]);
        String[] bad = run("params", "--config", fixture().toString(), "--memory", "--finetune", "half");
        assertEquals("2", bad[0]);
        assertTrue(bad[2].contains("--finetune must be lora or full, got 'half'"), bad[2]);
    }

    /** A plan is for a CUDA card unless --device cpu: the CUDA context is counted there, libtorch's CPU workspaces here. */
    @Test
    void memoryPlanCountsTheDevicesRuntime() {
        String[] cuda = run("params", "--config", "tiny", "--memory");
        assertEquals("0", cuda[0], cuda[2]);
        assertTrue(cuda[1].contains("1 CUDA device"), cuda[1]);
        assertTrue(cuda[1].replaceAll(" +", " ").contains("runtime (CUDA context, workspaces): 512.0 MiB"), cuda[1]);
        String[] cpu = run("params", "--config", "tiny", "--memory", "--device", "cpu");
        assertEquals("0", cpu[0], cpu[2]);
        assertTrue(cpu[1].replaceAll(" +", " ").contains("runtime (workspaces, allocator): 64.0 MiB"), cpu[1]);
        String[] bad = run("params", "--config", "tiny", "--memory", "--device", "tpu");
        assertEquals("2", bad[0]);
        assertTrue(bad[2].contains("--device must be cuda or cpu, got 'tpu'"), bad[2]);
    }

    /** params and train declare the LoRA options once: the same defaults, the same checks, the same help. */
    @Test
    void loraOptionsAndDefaultsAreTrains() {
        String[] r = run("params", "--config", "tiny", "--lora_r", "4");
        assertEquals("0", r[0], r[2]);
        // train's default --modules_to_save seed: both heads and the codebook embeddings
        assertTrue(r[1].contains("With LoRA r=4, alpha=32, targets ") && r[1].contains("modules_to_save [" + ModulesToSave.TEXT_HEAD + ", "
                + ModulesToSave.AUDIO_HEAD + ", " + ModulesToSave.CODEBOOKS + "]"), r[1]);
        String[] none = run("params", "--config", "tiny");
        assertEquals("0", none[0], none[2]);
        assertFalse(none[1].contains("With LoRA"), "no --lora_r: no LoRA statistics");
        String[] bad = run("params", "--config", "tiny", "--lora_r", "0");
        assertEquals("2", bad[0]);
        assertTrue(bad[2].contains("--lora_r must be >= 1, got 0"), bad[2]);
        bad = run("params", "--config", "tiny", "--memory", "--dtype", "fp16");
        assertEquals("2", bad[0]);
        assertTrue(bad[2].contains("--dtype must be bf16 or fp32, got 'fp16'"), bad[2]);
        bad = run("params", "--config", "tiny", "--batch_size", "8");
        assertEquals("2", bad[0]);
        assertTrue(bad[2].contains("--batch_size is a --memory option"), bad[2]);
        // 4 x 10^18 tokens: the byte counts overflowed to a negative total before
        bad = run("params", "--config", "tiny", "--memory", "--batch_size", "2000000000", "--seq_len", "2000000000");
        assertEquals("2", bad[0]);
        assertTrue(bad[2].contains("more than 2^31 tokens"), bad[2]);
        for (String command : new String[] {"params", "train"}) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            var cl = Main.commandLine();
            cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
            assertEquals(0, cl.execute(command, "--help"));
            String help = out.toString(StandardCharsets.UTF_8);
            for (String option : new String[] {"--lora_r", "--lora_alpha", "--lora_dropout", "--lora_targets", "--modules_to_save", "--use_rslora"}) {
                assertTrue(help.contains(option), command + " " + option + ": " + help);
            }
            assertTrue(help.contains("LoRA rank (default: 16)") && help.contains("(default: seed)"), command + ": " + help);
        }
    }
}
