package io.higgs4j.higgs;

import io.higgs4j.nn.Init;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

class WhisperEncoderTest {

    // ---- configuration and names ----

    @Test
    void configIsReadFromTheHiggsConfig() throws Exception {
        WhisperEncoderConfig c = WhisperEncoderConfig.fromHiggsConfig(CheckpointNamesTest.fixture());
        assertEquals(WhisperEncoderConfig.largeV3(), c);
        assertEquals(64, c.headDim());
        assertEquals(3000, c.inputFrames());
        var bad = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("activation_function", "relu");
        var e = assertThrows(HiggsAudioConfig.ConfigException.class, () -> WhisperEncoderConfig.fromJson(bad));
        assertTrue(e.getMessage().contains("activation_function 'relu'"), e.getMessage());
    }

    /** Hugging Face Whisper's encoder layout under Higgs' prefixes, written out from the 3B config's numbers. */
    static Map<String, long[]> expected3B() {
        long d = 1280, ffn = 5120, mels = 128, hidden = 3072;
        Map<String, long[]> m = new TreeMap<>();
        m.put("audio_tower.conv1.weight", new long[] {d, mels, 3});
        m.put("audio_tower.conv1.bias", new long[] {d});
        m.put("audio_tower.conv2.weight", new long[] {d, d, 3});
        m.put("audio_tower.conv2.bias", new long[] {d});
        m.put("audio_tower.embed_positions.weight", new long[] {1500, d});
        m.put("audio_tower.layer_norm.weight", new long[] {d});
        m.put("audio_tower.layer_norm.bias", new long[] {d});
        for (int i = 0; i < 32; i++) {
            String p = "audio_tower.layers." + i + ".";
            for (String proj : List.of("q_proj", "k_proj", "v_proj", "out_proj")) {
                m.put(p + "self_attn." + proj + ".weight", new long[] {d, d});
                if (!proj.equals("k_proj")) m.put(p + "self_attn." + proj + ".bias", new long[] {d});
            }
            for (String ln : List.of("self_attn_layer_norm", "final_layer_norm")) {
                m.put(p + ln + ".weight", new long[] {d});
                m.put(p + ln + ".bias", new long[] {d});
            }
            m.put(p + "fc1.weight", new long[] {ffn, d});
            m.put(p + "fc1.bias", new long[] {ffn});
            m.put(p + "fc2.weight", new long[] {d, ffn});
            m.put(p + "fc2.bias", new long[] {d});
        }
        m.put("audio_encoder_proj.linear.weight", new long[] {hidden, d});
        m.put("audio_encoder_proj.linear.bias", new long[] {hidden});
        return m;
    }

    @Test
    void the3BAudioEncoderConfigGivesWhispersNamesAndShapes() throws Exception {
        WhisperEncoderConfig c = WhisperEncoderConfig.fromHiggsConfig(CheckpointNamesTest.fixture());
        try (HiggsAudioWhisper w = new HiggsAudioWhisper(c, 3072, Init.meta())) {
            Map<String, long[]> want = expected3B();
            assertEquals(32 * 15 + 7 + 2, want.size());
            Map<String, Tensor> got = w.namedParameters();
            assertEquals(new java.util.TreeSet<>(want.keySet()), new java.util.TreeSet<>(got.keySet()));
            want.forEach((n, shape) -> assertArrayEquals(shape, got.get(n).shape(), n));
            assertEquals(Device.Type.META, got.get("audio_tower.conv1.weight").device().type());
        }
    }

    // ---- shapes and token counts ----

    @Test
    void tokenCountsFollowTheReferenceFormula() {
        // (n - 1) // 2 + 1 positions, then (L - 2) // 2 + 1 tokens (Python floor division).
        long[][] cases = {{0, 0}, {1, 0}, {2, 0}, {3, 1}, {4, 1}, {5, 1}, {7, 2}, {100, 25}, {101, 25}, {730, 182}, {731, 183},
                {1600, 400}, {3000, 750}};
        for (long[] c : cases) assertEquals(c[1], HiggsAudioWhisper.tokenCount(c[0]), "n = " + c[0]);
        for (long n = 0; n <= 3000; n++) {
            long l = Math.floorDiv(n - 1, 2) + 1;
            assertEquals(Math.floorDiv(l - 2, 2) + 1, HiggsAudioWhisper.tokenCount(n));
            if (n >= 1) assertEquals(l / 2, HiggsAudioWhisper.tokenCount(n), "floor(L/2) for n = " + n);
        }
    }

    @Test
    void clipsOfSeveralLengthsGiveTheirTokens() {
        Torch.manualSeed(3);
        WhisperEncoderConfig c = WhisperEncoderConfig.tiny();
        long[] frames = {100, 730, 3000}; // 1 s, 7.3 s, 30 s
        try (HiggsAudioWhisper w = new HiggsAudioWhisper(c, 64, Init.cpu(DType.FLOAT32)); Scope s = Scope.open(); var g = Torch.noGrad()) {
            w.train(false);
            Tensor features = Tensor.randn(3, 128, 3000);
            Tensor mask = mask(frames, 3000);
            Tensor plain = w.audioTower.forward(features.narrow(0, 2, 1));
            assertArrayEquals(new long[] {1, 1500, 32}, plain.shape());
            Tensor padded = w.forward(features, mask);
            assertArrayEquals(new long[] {3, 750, 64}, padded.shape());
            List<Tensor> clips = w.encode(features, mask);
            long[] want = {25, 182, 750};
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(new long[] {want[i], 64}, clips.get(i).shape(), "clip " + i);
                // encode runs the tower clip by clip and projects only real tokens: other matrix shapes than the padded
                // batch, so equal up to float rounding (a few ulps), not bit for bit
                assertClose(padded.select(0, i).narrow(0, 0, want[i]).toFloatArray(), clips.get(i).toFloatArray(), 1e-5);
            }
            // A full clip's mask masks nothing: the same as no mask at all.
            assertClose(w.forward(features.narrow(0, 2, 1), null).toFloatArray(), clips.get(2).toFloatArray(), 1e-5);
            // Whatever lies after a clip's real frames (beyond what its kept tokens' convolutions see) changes nothing.
            Tensor noisy = features.narrow(0, 0, 2).clone();
            noisy.select(0, 1).narrow(1, 731, 3000 - 731).fill_(7.0);
            noisy.select(0, 0).narrow(1, 101, 3000 - 101).fill_(-3.0);
            List<Tensor> again = w.encode(noisy, mask.narrow(0, 0, 2));
            for (int i = 0; i < 2; i++) assertClose(clips.get(i).toFloatArray(), again.get(i).toFloatArray(), 1e-5);
        }
    }

    @Test
    void encodingLeavesNoTensorBehind() {
        Torch.manualSeed(6);
        try (HiggsAudioWhisper w = new HiggsAudioWhisper(SMALL, 6, Init.cpu(DType.FLOAT32))) {
            long before = Tensor.liveCount();
            try (Scope s = Scope.open()) {
                Tensor features = Tensor.randn(2, 4, 8);
                Tensor mask = mask(new long[] {8, 3}, 8);
                List<Tensor> clips = w.encode(features, mask);
                assertArrayEquals(new long[] {2, 6}, clips.get(0).shape());
                assertArrayEquals(new long[] {1, 6}, clips.get(1).shape());
                w.requiresGrad(true);
                w.forward(features, mask).sum().backward();
                w.audioTower.forward(features);
            }
            assertEquals(before, Tensor.liveCount(), "tensors left alive by encode/forward");
        }
    }

    /** A TowerCache gets each clip alone with its real frames; what it returns is what encode projects, bit for bit. */
    @Test
    void aTowerCacheSeesEachClipAndIsRefusedWhileTheTowerTrains() {
        Torch.manualSeed(9);
        try (HiggsAudioWhisper w = new HiggsAudioWhisper(WhisperEncoderConfig.tiny(), 64, Init.cpu(DType.FLOAT32)); Scope s = Scope.open()) {
            Tensor features = Tensor.randn(2, 128, 400);
            Tensor mask = mask(new long[] {400, 150}, 400);
            List<Tensor> plain = w.encode(features, mask);
            List<long[]> seen = new java.util.ArrayList<>();
            List<Tensor> stored = new java.util.ArrayList<>();
            w.cache((clip, frames, masked, compute) -> {
                seen.add(new long[] {clip.size(0), frames, masked ? 1 : 0});
                Tensor t = compute.get();
                stored.add(Scope.disown(t.clone()));
                return t;
            });
            List<Tensor> cached = w.encode(features, mask);
            assertArrayEquals(new long[] {1, 400, 1}, seen.get(0));
            assertArrayEquals(new long[] {1, 150, 1}, seen.get(1));
            assertArrayEquals(new long[] {100, 32}, stored.get(0).shape(), "tokenCount(400) = 100 rows of d_model 32");
            assertArrayEquals(new long[] {37, 32}, stored.get(1).shape(), "tokenCount(150) = 37");
            // a cache that replays stored outputs without running the tower: the same bits as running it
            int[] next = {0};
            w.cache((clip, frames, masked, compute) -> stored.get(next[0]++).to(clip.device()));
            List<Tensor> replayed = w.encode(features, mask);
            for (int i = 0; i < 2; i++) {
                assertArrayEquals(plain.get(i).toFloatArray(), cached.get(i).toFloatArray(), "clip " + i);
                assertArrayEquals(plain.get(i).toFloatArray(), replayed.get(i).toFloatArray(), "clip " + i);
            }
            stored.forEach(Tensor::close);
            w.audioTower.layers.get(1).fc2.weight().requiresGrad(true);
            assertEquals("audio_tower.layers.1.fc2.weight", w.trainableTowerParameter());
            var e = assertThrows(IllegalStateException.class, () -> w.encode(features, mask));
            assertTrue(e.getMessage().contains("audio_tower.layers.1.fc2.weight requires gradients"), e.getMessage());
            w.cache(null);
            assertEquals(2, w.encode(features, mask).size(), "without a cache a trainable tower is fine");
        }
    }

    @Test
    void bfloat16TowerMatchesFloat32() {
        Torch.manualSeed(8);
        try (HiggsAudioWhisper w = new HiggsAudioWhisper(WhisperEncoderConfig.tiny(), 64, Init.cpu(DType.FLOAT32));
             Scope s = Scope.open(); var g = Torch.noGrad()) {
            Tensor features = Tensor.randn(2, 128, 200);
            Tensor mask = mask(new long[] {200, 150}, 200);
            Tensor f32 = w.forward(features, mask);
            w.to(DType.BFLOAT16);
            Tensor bf16 = w.forward(features, mask); // float32 features are cast to the weights' dtype
            assertEquals(DType.BFLOAT16, bf16.dtype());
            assertArrayEquals(new long[] {2, 50, 64}, bf16.shape());
            double err = bf16.to(DType.FLOAT32).sub(f32).abs().max().item(), scale = f32.abs().max().item();
            assertTrue(err < 0.05 * scale, "bf16 error " + err + " against scale " + scale);
        }
    }

    @Test
    void badInputsAreNamed() {
        WhisperEncoderConfig c = WhisperEncoderConfig.tiny();
        try (HiggsAudioWhisper w = new HiggsAudioWhisper(c, 64, Init.cpu(DType.FLOAT32)); Scope s = Scope.open()) {
            var e = assertThrows(RuntimeException.class, () -> w.forward(Tensor.zeros(1, 80, 3000), null));
            assertTrue(e.getMessage().contains("[B, 128, T]"), e.getMessage());
            e = assertThrows(RuntimeException.class, () -> w.forward(Tensor.zeros(1, 128, 3002), null));
            assertTrue(e.getMessage().contains("max_source_positions 1500"), e.getMessage());
            e = assertThrows(RuntimeException.class, () -> w.forward(Tensor.zeros(2, 128, 30), Tensor.ones(2, 31)));
            assertTrue(e.getMessage().contains("feature mask must be [2, 30]"), e.getMessage());
        }
    }

    static Tensor mask(long[] frames, long t) {
        boolean[] m = new boolean[(int) (frames.length * t)];
        for (int i = 0; i < frames.length; i++) for (int j = 0; j < frames[i]; j++) m[(int) (i * t + j)] = true;
        return Tensor.of(m, frames.length, t).to(DType.INT64);
    }

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    static void assertClose(float[] a, float[] b, double tol) {
        assertEquals(a.length, b.length);
        for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], tol * (1 + Math.abs(a[i])), "element " + i);
    }

    @Test
    void convolutionsMatchAHandWrittenSum() {
        Torch.manualSeed(4);
        try (io.higgs4j.nn.Conv1d conv = new io.higgs4j.nn.Conv1d(3, 2, 3, 2, 1, true, new Init(DType.FLOAT64, Device.CPU, 1.0));
             Scope s = Scope.open()) {
            try (var g = Torch.noGrad()) {
                conv.bias().copy_(Tensor.of(new double[] {0.5, -1}, 2));
            }
            Tensor x = Tensor.randn(new long[] {2, 3, 7}, DType.FLOAT64, Device.CPU);
            Tensor y = conv.forward(x);
            assertArrayEquals(new long[] {2, 2, 4}, y.shape());
            assertEquals(4, conv.outputLength(7));
            double[] xs = x.toDoubleArray(), w = conv.weight().toDoubleArray(), b = conv.bias().toDoubleArray(), ys = y.toDoubleArray();
            for (int n = 0; n < 2; n++) for (int o = 0; o < 2; o++) for (int t = 0; t < 4; t++) {
                double sum = b[o];
                for (int i = 0; i < 3; i++) for (int k = 0; k < 3; k++) {
                    int src = 2 * t + k - 1;
                    if (src >= 0 && src < 7) sum += w[(o * 3 + i) * 3 + k] * xs[(n * 3 + i) * 7 + src];
                }
                assertEquals(sum, ys[(n * 2 + o) * 4 + t], 1e-12, "out[" + n + "," + o + "," + t + "]");
            }
            // float32 (the oneDNN path on the CPU): same values and gradients as float64 (the im2col path).
            Tensor wy = Tensor.randn(new long[] {2, 2, 4}, DType.FLOAT64, Device.CPU);
            conv.requiresGrad(true);
            conv.forward(x).mul(wy).sum().backward();
            double[] gw64 = conv.weight().grad().toDoubleArray(), gb64 = conv.bias().grad().toDoubleArray();
            conv.to(DType.FLOAT32);
            conv.requiresGrad(true);
            Tensor x32 = x.to(DType.FLOAT32).requiresGrad(true);
            Tensor y32 = conv.forward(x32);
            assertClose(y.to(DType.FLOAT32).toFloatArray(), y32.toFloatArray(), 1e-5);
            y32.mul(wy.to(DType.FLOAT32)).sum().backward();
            assertClose(toFloat(gw64), conv.weight().grad().toFloatArray(), 1e-5);
            assertClose(toFloat(gb64), conv.bias().grad().toFloatArray(), 1e-5);
            assertNotNull(x32.grad());
        }
    }

    // ---- gradients ----

    static final WhisperEncoderConfig SMALL = new WhisperEncoderConfig(4, 8, 1, 2, 16, 4, 1e-5, 0.3);

    @Test
    void encoderLayerGradientsMatchFiniteDifferences() {
        Torch.manualSeed(11);
        try (WhisperEncoderLayer layer = new WhisperEncoderLayer(SMALL, new Init(DType.FLOAT64, Device.CPU, 0.3)); Scope s = Scope.open()) {
            Tensor h = Tensor.randn(new long[] {2, 5, 8}, DType.FLOAT64, Device.CPU).requiresGrad(true);
            Tensor w = Tensor.randn(new long[] {2, 5, 8}, DType.FLOAT64, Device.CPU);
            Tensor keyMask = Tensor.of(new boolean[] {true, true, true, true, true, true, true, true, false, false}, 2, 1, 1, 5);
            // Norm weights and biases away from ones and zeros, so their gradients are not degenerate.
            try (var g = Torch.noGrad()) {
                for (var e : layer.namedParameters().entrySet()) {
                    if (e.getKey().contains("norm") || e.getKey().endsWith("bias")) {
                        e.getValue().copy_(Scope.run(() -> Tensor.randn(e.getValue().shape(), DType.FLOAT64, Device.CPU).mul(0.3)
                                .add(e.getKey().endsWith("weight") ? 1.0 : 0.0)));
                    }
                }
            }
            layer.requiresGrad(true);
            Supplier<Double> loss = () -> Scope.run(() -> layer.forward(h, keyMask).mul(w).sum()).item();
            layer.forward(h, keyMask).mul(w).sum().backward();
            Random r = new Random(2);
            FiniteDifferences.check("input", h, loss, r, 30);
            Map<String, Tensor> params = layer.namedParameters();
            assertFalse(params.containsKey("self_attn.k_proj.bias"));
            for (String name : List.of("self_attn.q_proj.weight", "self_attn.q_proj.bias", "self_attn.k_proj.weight",
                    "self_attn.v_proj.weight", "self_attn.v_proj.bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
                    "self_attn_layer_norm.weight", "self_attn_layer_norm.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
                    "final_layer_norm.weight", "final_layer_norm.bias")) {
                FiniteDifferences.check(name, params.get(name), loss, r, 8);
            }
        }
    }

    @Test
    void wholeTowerGradientsMatchFiniteDifferences() {
        Torch.manualSeed(12);
        try (HiggsAudioWhisper m = new HiggsAudioWhisper(SMALL, 6, new Init(DType.FLOAT64, Device.CPU, 0.3)); Scope s = Scope.open()) {
            Tensor features = Tensor.randn(new long[] {2, 4, 8}, DType.FLOAT64, Device.CPU);
            Tensor mask = mask(new long[] {8, 5}, 8);
            Tensor w = Tensor.randn(new long[] {2, 2, 6}, DType.FLOAT64, Device.CPU);
            m.requiresGrad(true);
            Supplier<Double> loss = () -> Scope.run(() -> m.forward(features, mask).mul(w).sum()).item();
            m.forward(features, mask).mul(w).sum().backward();
            Random r = new Random(3);
            Map<String, Tensor> params = m.namedParameters();
            for (String name : List.of("audio_tower.conv1.weight", "audio_tower.conv1.bias", "audio_tower.conv2.weight",
                    "audio_tower.embed_positions.weight", "audio_tower.layers.0.self_attn.k_proj.weight", "audio_tower.layer_norm.weight",
                    "audio_encoder_proj.linear.weight", "audio_encoder_proj.linear.bias")) {
                FiniteDifferences.check(name, params.get(name), loss, r, 8);
            }
        }
    }

    // ---- loading ----

    /** The tower's parameters under Hugging Face WhisperForConditionalGeneration names, plus decoder entries. */
    static Map<String, Tensor> whisperCheckpoint(HiggsAudioWhisper source) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        source.audioTower.namedParameters().forEach((n, t) -> m.put("model.encoder." + n, t));
        m.put("model.decoder.layers.0.fc1.weight", Tensor.ones(4, 32));
        m.put("model.decoder.embed_tokens.weight", Tensor.ones(10, 32));
        m.put("proj_out.weight", Tensor.ones(10, 32));
        return m;
    }

    @Test
    void whisperEncoderCheckpointLoadsOntoTheAudioTower(@TempDir Path dir) {
        WhisperEncoderConfig c = WhisperEncoderConfig.tiny();
        Torch.manualSeed(1);
        try (HiggsAudioWhisper a = new HiggsAudioWhisper(c, 64, Init.cpu(DType.FLOAT32));
             HiggsAudioWhisper b = new HiggsAudioWhisper(c, 64, Init.cpu(DType.FLOAT32)); Scope s = Scope.open()) {
            Path file = dir.resolve("model.safetensors");
            SafetensorsWriter.write(file, whisperCheckpoint(a));
            float[] proj = b.audioEncoderProj.linear.weight().toFloatArray();
            b.loadWhisperEncoder(file);
            Map<String, Tensor> pa = a.namedParameters(), pb = b.namedParameters();
            for (String n : pa.keySet()) {
                if (n.startsWith("audio_tower.")) assertArrayEquals(pa.get(n).toFloatArray(), pb.get(n).toFloatArray(), n);
            }
            assertArrayEquals(proj, b.audioEncoderProj.linear.weight().toFloatArray(), "the projection is not in a Whisper checkpoint");

            // WhisperModel's names (encoder.*) work too; a whole Higgs-named file loads both parts.
            Map<String, Tensor> bare = new LinkedHashMap<>();
            a.audioTower.namedParameters().forEach((n, t) -> bare.put("encoder." + n, t));
            SafetensorsWriter.write(dir.resolve("bare.safetensors"), bare);
            b.loadWhisperEncoder(dir.resolve("bare.safetensors"));
            Map<String, Tensor> higgs = new LinkedHashMap<>(a.namedParameters());
            higgs.put("embed_tokens.weight", Tensor.ones(3, 3));
            SafetensorsWriter.write(dir.resolve("higgs.safetensors"), higgs);
            b.loadFromHiggs(dir.resolve("higgs.safetensors"));
            for (String n : pa.keySet()) assertArrayEquals(pa.get(n).toFloatArray(), pb.get(n).toFloatArray(), n);
        }
    }

    @Test
    void aMissingOrMisshapedEncoderKeyIsNamed(@TempDir Path dir) {
        WhisperEncoderConfig c = WhisperEncoderConfig.tiny();
        try (HiggsAudioWhisper a = new HiggsAudioWhisper(c, 64, Init.cpu(DType.FLOAT32));
             HiggsAudioWhisper b = new HiggsAudioWhisper(c, 64, Init.cpu(DType.FLOAT32)); Scope s = Scope.open()) {
            Map<String, Tensor> m = whisperCheckpoint(a);
            m.remove("model.encoder.layers.1.fc2.bias");
            m.put("model.encoder.layers.2.fc1.weight", Tensor.ones(64, 32));
            m.put("model.encoder.conv1.weight", Tensor.ones(32, 80, 3));
            Path file = dir.resolve("model.safetensors");
            SafetensorsWriter.write(file, m);
            float[] before = b.audioTower.conv2.weight().toFloatArray();
            var e = assertThrows(IllegalArgumentException.class, () -> b.loadWhisperEncoder(file));
            for (String part : List.of("missing 1 keys: [audio_tower.layers.1.fc2.bias]", "unexpected 1 keys: [audio_tower.layers.2.fc1.weight]",
                    "audio_tower.conv1.weight: checkpoint shape [32, 80, 3], model shape [32, 128, 3]")) {
                assertTrue(e.getMessage().contains(part), e.getMessage());
            }
            assertFalse(e.getMessage().contains("decoder"), e.getMessage());
            assertArrayEquals(before, b.audioTower.conv2.weight().toFloatArray(), "nothing is loaded when the checkpoint does not fit");

            Map<String, Tensor> both = whisperCheckpoint(a);
            both.put("encoder.layer_norm.bias", Tensor.zeros(32));
            SafetensorsWriter.write(dir.resolve("both.safetensors"), both);
            e = assertThrows(IllegalArgumentException.class, () -> b.loadWhisperEncoder(dir.resolve("both.safetensors")));
            assertTrue(e.getMessage().contains("both map to audio_tower.layer_norm.bias"), e.getMessage());
        }
    }
}
