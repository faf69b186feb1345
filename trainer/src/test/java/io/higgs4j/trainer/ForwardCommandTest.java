package io.higgs4j.trainer;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.nn.Init;
import io.higgs4j.safetensors.SafetensorsFile;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.DType;
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
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class ForwardCommandTest {

    /** A tiny model directory (config.json + bf16 weights) and a collated batch with one audio-in and one audio-out clip. */
    static void prepare(Path model, Path batch) throws Exception {
        HiggsAudioConfig c = HiggsAudioConfig.preset("tiny");
        Files.createDirectories(model);
        Files.writeString(model.resolve("config.json"), c.toJson().toPrettyString());
        Torch.manualSeed(3);
        try (HiggsAudioModel m = new HiggsAudioModel(c, Init.cpu(DType.FLOAT32)); Scope s = Scope.open()) {
            Map<String, Tensor> bf16 = new LinkedHashMap<>();
            m.namedParameters().forEach((n, t) -> bf16.put(n, t.to(DType.BFLOAT16)));
            SafetensorsWriter.write(model.resolve("model.safetensors"), bf16);
            Random r = new Random(4);
            long[] in = new long[8 * 3], out = new long[8 * 4], outLabels = new long[8 * 4];
            for (int i = 0; i < in.length; i++) in[i] = r.nextInt(1026);
            for (int i = 0; i < out.length; i++) {
                out[i] = r.nextInt(1026);
                outLabels[i] = i % 4 == 0 ? -100 : out[i];
            }
            Map<String, Tensor> fields = new LinkedHashMap<>();
            fields.put("input_ids", Tensor.of(new long[] {5, 6, c.audioInTokenIdx(), 7, c.audioOutTokenIdx(), 8}, 1, 6));
            fields.put("attention_mask", Tensor.ones(new long[] {1, 6}, DType.INT64, io.higgs4j.torch.Device.CPU));
            fields.put("audio_in_ids", Tensor.of(in, 8, 3));
            fields.put("audio_in_ids_start", Tensor.of(new long[] {0}));
            fields.put("audio_out_ids", Tensor.of(out, 8, 4));
            fields.put("audio_out_ids_start", Tensor.of(new long[] {0}));
            fields.put("label_ids", Tensor.of(new long[] {-100, -100, -100, 7, -100, 8}, 1, 6));
            fields.put("label_audio_ids", Tensor.of(outLabels, 8, 4));
            fields.put("reward", Tensor.of(new float[] {1f})); // other fields are ignored
            SafetensorsWriter.write(batch, fields);
        }
    }

    static int run(ByteArrayOutputStream err, String... args) {
        var cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        return cl.execute(args);
    }

    @Test
    void writesEveryOutputWithConsistentLossesAndGradients(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model"), batch = dir.resolve("batch.safetensors"), out = dir.resolve("out.safetensors");
        prepare(model, batch);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = run(err, "forward", "--model_path", model.toString(), "--batch", batch.toString(), "--output", out.toString(),
                "--grads", "norm.weight,layers.0.audio_mlp.up_proj.weight");
        assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
        try (SafetensorsFile f = SafetensorsFile.open(out); Scope s = Scope.open()) {
            // 2 text + 3 audio-in + 1 text + 4 audio-out + 1 text = 11 positions, rounded up to 16.
            assertArrayEquals(new long[] {1, 16, 1024}, f.info("logits").shape());
            assertEquals(DType.FLOAT32, f.info("logits").dtype());
            assertArrayEquals(new long[] {4, 8, 1026}, f.info("audio_logits").shape());
            // 5 6 | in in in | 7 | out out out out | 8 | padding
            assertArrayEquals(new long[] {-100, -100, -100, -100, -100, 7, -100, -100, -100, -100, 8,
                    -100, -100, -100, -100, -100}, f.load("expanded_labels").toLongArray());
            assertArrayEquals(new long[] {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0}, f.load("audio_out_mask").toLongArray());
            assertEquals(DType.INT64, f.info("audio_out_mask").dtype());
            double text = f.load("text_loss").item(), audio = f.load("audio_loss").item(), total = f.load("total_loss").item();
            float[] perCodebook = f.load("codebook_losses").toFloatArray();
            assertEquals(8, perCodebook.length);
            double mean = 0;
            for (float v : perCodebook) mean += v / 8.0;
            assertEquals(mean, audio, 1e-5, "default weighting: audio loss is the mean over codebooks");
            assertEquals(text + audio, total, 1e-5);
            // A random model predicts nearly uniformly: losses near log(vocabulary).
            assertEquals(Math.log(1024), text, 1.0);
            assertEquals(Math.log(1026), audio, 1.0);
            assertArrayEquals(new long[] {64}, f.info("grad.norm.weight").shape());
            assertArrayEquals(new long[] {128, 64}, f.info("grad.layers.0.audio_mlp.up_proj.weight").shape());
            double norm = 0;
            for (float g : f.load("grad.layers.0.audio_mlp.up_proj.weight").toFloatArray()) {
                assertTrue(Float.isFinite(g));
                norm += g * g;
            }
            assertTrue(norm > 0, "audio positions reach the audio MLP");
        }
    }

    @Test
    void badArgumentsAreNamed(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model"), batch = dir.resolve("batch.safetensors"), out = dir.resolve("out.safetensors");
        prepare(model, batch);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(1, run(err, "forward", "--model_path", model.toString(), "--batch", dir.resolve("none").toString(), "--output", out.toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--batch"), err.toString(StandardCharsets.UTF_8));
        err.reset();
        assertEquals(1, run(err, "forward", "--model_path", model.toString(), "--batch", batch.toString(), "--output", out.toString(),
                "--grads", "no.such.weight"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("no.such.weight"), err.toString(StandardCharsets.UTF_8));
        assertFalse(Files.exists(out), "nothing written on failure");
        // a batch without tokens (this was "/ by zero")
        Path empty = dir.resolve("empty.safetensors");
        try (Scope s = Scope.open()) {
            Tensor none = Tensor.zeros(new long[] {1, 0}, DType.INT64, io.higgs4j.torch.Device.CPU);
            SafetensorsWriter.write(empty, Map.of("input_ids", none, "attention_mask", none));
        }
        err.reset();
        assertEquals(1, run(err, "forward", "--model_path", model.toString(), "--batch", empty.toString(), "--output", out.toString()));
        String message = err.toString(StandardCharsets.UTF_8);
        assertTrue(message.contains("--batch " + empty) && message.contains("input_ids must hold at least one token"), message);
        assertFalse(Files.exists(out), "nothing written on failure");
    }
}
