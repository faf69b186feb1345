package io.higgs4j.higgs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.nn.Init;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Generation equals the official code's: src/test/resources/generation-parity holds a tiny random model and what the
 * official {@code HiggsAudioModel.generate} (its {@code _sample} loop with a KV cache) returned for each prompt, made by
 * scripts/parity/generation_reference.py from a boson-ai/higgs-audio checkout. Tokens and codes must be identical.
 */
class GenerationParityTest {

    static Path fixture() {
        try {
            return Path.of(GenerationParityTest.class.getResource("/generation-parity/cases.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static long[] longs(JsonNode a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asLong();
        return out;
    }

    static Tensor matrix(JsonNode rows) {
        if (rows == null || rows.isNull()) return null;
        int k = rows.size(), n = rows.get(0).size();
        long[] flat = new long[k * n];
        for (int r = 0; r < k; r++) for (int c = 0; c < n; c++) flat[r * n + c] = rows.get(r).get(c).asLong();
        return Tensor.of(flat, k, n);
    }

    static Tensor vector(JsonNode a) {
        return a == null || a.isNull() ? null : Tensor.of(longs(a));
    }

    static GenerationConfig config(JsonNode c) {
        boolean sample = c.path("do_sample").asBoolean(false);
        return new GenerationConfig(c.get("max_new_tokens").asInt(), longs(c.get("stop_token_ids")), sample,
                c.path("temperature").asDouble(1.0), c.path("top_k").asInt(sample ? 50 : 0), c.path("top_p").asDouble(1.0),
                c.hasNonNull("ras_win_len") ? c.get("ras_win_len").asInt() : null, c.path("ras_win_max_num_repeat").asInt(2),
                c.hasNonNull("seed") ? c.get("seed").asLong() : null);
    }

    @TestFactory
    List<DynamicTest> everyCaseEqualsTheOfficialLoop() throws Exception {
        Path dir = fixture();
        JsonNode root = new ObjectMapper().readTree(dir.resolve("cases.json").toFile());
        HiggsAudioConfig config = HiggsAudioConfig.fromFile(dir.resolve("config.json"));
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : root.get("cases")) {
            tests.add(DynamicTest.dynamicTest(c.get("name").asText(), () -> {
                try (HiggsAudioModel model = new HiggsAudioModel(config, Init.forLoading(DType.FLOAT32, Device.CPU));
                     Scope s = Scope.open()) {
                    model.loadWeights(dir, null);
                    long[] ids = longs(c.get("input_ids"));
                    HiggsAudioBatch prompt = new HiggsAudioBatch(Tensor.of(ids, 1, ids.length), null,
                            matrix(c.get("audio_in_ids")), vector(c.get("audio_in_ids_start")),
                            matrix(c.get("audio_out_ids")), vector(c.get("audio_out_ids_start")), null, null);
                    HiggsAudioGenerator.Result r = new HiggsAudioGenerator(model).generate(prompt, config(c));
                    JsonNode expected = c.get("expected");
                    assertArrayEquals(longs(expected.get("sequence")), r.sequence(), "sequence");
                    assertEquals(expected.get("audio").size(), r.audio().size(), "clips");
                    for (int i = 0; i < r.audio().size(); i++) {
                        JsonNode clip = expected.get("audio").get(i);
                        assertEquals(clip.size(), r.audio().get(i).length, "clip " + i + " codebooks");
                        for (int k = 0; k < clip.size(); k++) {
                            assertArrayEquals(longs(clip.get(k)), r.audio().get(i)[k], "clip " + i + " codebook " + k);
                        }
                    }
                }
            }));
        }
        assertFalse(tests.isEmpty());
        return tests;
    }
}
