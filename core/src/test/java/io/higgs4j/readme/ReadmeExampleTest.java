package io.higgs4j.readme;

import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioLoss;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.higgs.SyntheticBatch;
import io.higgs4j.higgs.TrainingPass;
import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.optim.AdamW;
import io.higgs4j.safetensors.SafetensorsCheckpoint;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's "Use as a library" example is the body of {@link #example} below, character for character (after
 * removing this file's indentation), so the README cannot show code that no longer compiles or runs.
 */
class ReadmeExampleTest {

    static void example(Path outputDir) throws IOException {
        // README example begins
        HiggsAudioConfig config = HiggsAudioConfig.preset("tiny");   // 2 layers of hidden 64: seconds on a CPU
        Init init = Init.cpu(DType.FLOAT32);
        try (HiggsAudioModel model = new HiggsAudioModel(config, init);
             LoraModel lora = LoraModel.apply(model, LoraConfig.of(8, 16, 0.0, "attention", List.of()), init);
             AdamW optimizer = new AdamW(List.copyOf(lora.trainableParameters().values()), AdamW.Options.defaults(2e-4))) {
            model.train(true);
            Random random = new Random(0);
            for (int step = 0; step < 3; step++) {
                try (Scope scope = Scope.open()) {                     // frees every tensor of the step
                    HiggsAudioBatch batch = SyntheticBatch.mixed(config, 2, 32, random);
                    // forward, loss (text + audio codebooks, shifted by one) and backward into the LoRA weights
                    HiggsAudioLoss.Result loss = TrainingPass.run(model, batch, 8, TrainingPass.Options.defaults());
                    optimizer.step();
                    optimizer.zeroGrad();
                    System.out.printf("step %d: loss %.4f%n", step, loss.total().item());
                }
            }
            lora.save(outputDir);                                     // adapter_model.safetensors + adapter_config.json
        }
        // README example ends
    }

    private static final Pattern README_BLOCK = Pattern.compile(
            "## Use as a library.*?```java\\n(.*?)```", Pattern.DOTALL);

    private static final Pattern SOURCE_BLOCK = Pattern.compile(
            "// README example begins\\n(.*?)\\n\\s*// README example ends", Pattern.DOTALL);

    @Test
    void readmeShowsThisExample() throws IOException {
        // Surefire runs in the module's directory; the README is at the repository root.
        String readme = Files.readString(Path.of("../README.md"));
        Matcher r = README_BLOCK.matcher(readme);
        assertTrue(r.find(), "README.md has a java block under ## Use as a library");
        String source = Files.readString(Path.of("src/test/java/io/higgs4j/readme/ReadmeExampleTest.java"));
        Matcher s = SOURCE_BLOCK.matcher(source);
        assertTrue(s.find(), "this file marks its example");
        assertEquals(dedent(s.group(1)), r.group(1));
    }

    /** Removes the 8 spaces of method-body indentation from every line and ends with a newline, as a README block. */
    private static String dedent(String body) {
        StringBuilder out = new StringBuilder();
        for (String line : body.split("\n", -1)) out.append(line.startsWith("        ") ? line.substring(8) : line.strip()).append('\n');
        return out.toString();
    }

    @Test
    void exampleTrainsAndSavesTheAdapter(@TempDir Path dir) throws IOException {
        example(dir);
        assertTrue(Files.isRegularFile(dir.resolve("adapter_config.json")));
        try (SafetensorsCheckpoint saved = SafetensorsCheckpoint.open(dir.resolve("adapter_model.safetensors"));
             Scope s = Scope.open()) {
            // 2 layers x q, k, v, o, each with lora_A and lora_B.
            assertEquals(16, saved.names().size(), saved.names().toString());
            // lora_B starts at zero (PEFT's initialisation), so a non-zero lora_B is the optimizer's steps, saved.
            String b = "base_model.model.layers.0.self_attn.q_proj.lora_B.weight";
            Tensor loraB = saved.load(b);
            assertTrue(loraB.abs().sum().item() > 0, b + " was trained");
        }
    }
}
