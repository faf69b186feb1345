package io.higgs4j.trainer;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.higgs.HiggsAudioWeights;
import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class MergeCommandTest {

    static float[] textLogits(HiggsAudioModel m) {
        m.train(false);
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            var batch = new io.higgs4j.higgs.HiggsAudioBatch(Tensor.of(new long[] {3, 4, 5, 6}, 1, 4),
                    Tensor.ones(new long[] {1, 4}, DType.INT64, Device.CPU), null, null, null, null, null, null);
            return m.forward(batch, 1).logits().toFloatArray();
        }
    }

    @Test
    void mergedCheckpointReproducesTheAdaptedModel(@TempDir Path dir) throws Exception {
        Path base = dir.resolve("base"), adapter = dir.resolve("adapter"), merged = dir.resolve("merged");
        HiggsAudioConfig c = HiggsAudioConfig.preset("tiny");
        Files.createDirectories(base);
        Files.writeString(base.resolve("config.json"), c.toJson().toPrettyString());
        Files.writeString(base.resolve("tokenizer.json"), "{\"version\": \"1.0\"}");
        Files.writeString(base.resolve("generation_config.json"), "{}");
        Torch.manualSeed(8);
        float[] adapted;
        try (HiggsAudioModel m = new HiggsAudioModel(c, Init.cpu(DType.BFLOAT16)); Scope s = Scope.open()) {
            SafetensorsWriter.writeSharded(base, m.namedParameters(), 300_000, Map.of("format", "pt"));
            try (LoraModel lora = LoraModel.apply(m, LoraConfig.of(4, 8, 0.05, "comprehensive",
                    List.of("audio_decoder_proj.text_lm_head")), Init.cpu(DType.FLOAT32))) {
                try (var g = Torch.noGrad()) {
                    for (Tensor t : lora.trainableParameters().values()) t.copy_(Tensor.randn(t.shape()).mul(0.05).add(t));
                }
                adapted = textLogits(m);
                lora.save(adapter);
            }
        }
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        var cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        assertEquals(0, cl.execute("merge", "--model_path", base.toString(), "--adapter", adapter.toString(),
                "--output_dir", merged.toString(), "--max_shard_size", "400000"), err.toString(StandardCharsets.UTF_8));
        for (String f : List.of("config.json", "tokenizer.json", "generation_config.json", "model.safetensors.index.json")) {
            assertTrue(Files.exists(merged.resolve(f)), f);
        }
        // The merged model has the modes of an ordinary new directory and files, not a temporary directory's 0700.
        var freshDir = Files.getPosixFilePermissions(Files.createDirectory(dir.resolve("fresh-dir")));
        var freshFile = Files.getPosixFilePermissions(Files.createFile(dir.resolve("fresh-file")));
        assertEquals(freshDir, Files.getPosixFilePermissions(merged));
        try (var s = Files.list(merged)) {
            for (Path f : s.toList()) assertEquals(freshFile, Files.getPosixFilePermissions(f), f.toString());
        }
        try (HiggsAudioModel fresh = new HiggsAudioModel(c, Init.forLoading(DType.BFLOAT16, Device.CPU))) {
            HiggsAudioWeights.load(fresh, merged);
            assertFalse(fresh.namedParameters().keySet().stream().anyMatch(n -> n.contains("lora")));
            float[] got = textLogits(fresh);
            // bf16 weights: the merged W is rounded once more than the adapted model's W + BA.
            for (int i = 0; i < got.length; i++) assertEquals(adapted[i], got[i], 0.02 + 0.02 * Math.abs(adapted[i]), "logit " + i);
        }
        // An existing, non-empty output directory is refused and left alone.
        err.reset();
        assertEquals(1, cl.execute("merge", "--model_path", base.toString(), "--adapter", adapter.toString(),
                "--output_dir", merged.toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("not empty"), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void anAdapterForAnotherModelLeavesNothingBehind(@TempDir Path dir) throws Exception {
        Path base = dir.resolve("base"), adapter = dir.resolve("adapter"), merged = dir.resolve("merged");
        HiggsAudioConfig tiny = HiggsAudioConfig.preset("tiny");
        Files.createDirectories(base);
        Files.writeString(base.resolve("config.json"), tiny.toJson().toPrettyString());
        try (HiggsAudioModel m = new HiggsAudioModel(tiny, Init.cpu(DType.FLOAT32))) {
            SafetensorsWriter.write(base.resolve("model.safetensors"), m.namedParameters());
        }
        // An adapter saved from a 1-layer variant: it has no layer-1 keys, so its key set does not fit.
        var t = tiny.textConfig();
        HiggsAudioConfig small = new HiggsAudioConfig(new HiggsAudioConfig.LlamaConfig(t.hiddenSize(), 1, t.numAttentionHeads(),
                t.numKeyValueHeads(), t.headDim(), t.intermediateSize(), t.vocabSize(), t.rmsNormEps(), t.ropeTheta(),
                t.ropeScaling(), 0.02), "dual_ffn_fast_forward", java.util.Set.of(0), 8, 1024, 1024, 1025, true, true, false,
                false, 128, tiny.audioInTokenIdx(), tiny.audioOutTokenIdx(), tiny.audioOutBosTokenId(), tiny.audioEosTokenId(), tiny.padTokenId());
        try (HiggsAudioModel m = new HiggsAudioModel(small, Init.cpu(DType.FLOAT32));
             LoraModel lora = LoraModel.apply(m, LoraConfig.of(4, 8, 0, "attention", List.of()), Init.cpu(DType.FLOAT32))) {
            lora.save(adapter);
        }
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        var cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        assertEquals(1, cl.execute("merge", "--model_path", base.toString(), "--adapter", adapter.toString(), "--output_dir", merged.toString(),
                "--max_shard_size", "0"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--max_shard_size must be >= 1 byte, got 0"), err.toString(StandardCharsets.UTF_8));
        assertEquals(1, cl.execute("merge", "--model_path", base.toString(), "--adapter", adapter.toString(), "--output_dir", merged.toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("missing keys"), err.toString(StandardCharsets.UTF_8));
        assertFalse(Files.exists(merged));
        try (var s = Files.list(dir)) {
            assertEquals(List.of("adapter", "base"), s.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary directory left");
        }
    }

}
