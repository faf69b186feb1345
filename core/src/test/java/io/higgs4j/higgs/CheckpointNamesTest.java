package io.higgs4j.higgs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

/** The 3B model built shape-only has exactly the released checkpoint's parameter names, shapes and byte size. */
class CheckpointNamesTest {

    /** The released checkpoint's metadata (src/test/resources/higgs-audio-v2-3b), or HIGGS4J_FIXTURES/higgs-audio-v2-3b. */
    static Path fixture() {
        String override = System.getenv("HIGGS4J_FIXTURES"); // the GPU bundle carries its own copy
        if (override != null) return Path.of(override, "higgs-audio-v2-3b");
        try {
            return Path.of(CheckpointNamesTest.class.getResource("/higgs-audio-v2-3b/config.json").toURI()).getParent();
        } catch (java.net.URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("the test resource higgs-audio-v2-3b/config.json is missing", e);
        }
    }

    /** Shapes by the Llama-3.2-3B / Higgs layout, written out from the config's numbers, not from our model. */
    static Map<String, long[]> expectedShapes() {
        long h = 3072, kv = 8 * 128, inter = 8192, vocab = 128256, audioVocab = 8 * 1026;
        Map<String, long[]> m = new TreeMap<>();
        m.put("embed_tokens.weight", new long[] {vocab, h});
        m.put("norm.weight", new long[] {h});
        m.put("audio_codebook_embeddings.weight", new long[] {audioVocab, h});
        m.put("audio_decoder_proj.audio_lm_head.weight", new long[] {audioVocab, h});
        m.put("audio_decoder_proj.text_lm_head.weight", new long[] {vocab, h});
        for (int i = 0; i < 28; i++) {
            String p = "layers." + i + ".";
            m.put(p + "self_attn.q_proj.weight", new long[] {h, h});
            m.put(p + "self_attn.k_proj.weight", new long[] {kv, h});
            m.put(p + "self_attn.v_proj.weight", new long[] {kv, h});
            m.put(p + "self_attn.o_proj.weight", new long[] {h, h});
            for (String mlp : new String[] {"mlp.", "audio_mlp."}) {
                m.put(p + mlp + "gate_proj.weight", new long[] {inter, h});
                m.put(p + mlp + "up_proj.weight", new long[] {inter, h});
                m.put(p + mlp + "down_proj.weight", new long[] {h, inter});
            }
            for (String norm : new String[] {"input_layernorm", "post_attention_layernorm", "audio_input_layernorm",
                    "audio_post_attention_layernorm"}) {
                m.put(p + norm + ".weight", new long[] {h});
            }
        }
        return m;
    }

    @Test
    void namesShapesAndSizeEqualTheReleasedCheckpoint() throws Exception {
        Path dir = fixture();
        JsonNode index = new ObjectMapper().readTree(dir.resolve("model.safetensors.index.json").toFile());
        TreeSet<String> expectedNames = new TreeSet<>();
        index.path("weight_map").fieldNames().forEachRemaining(expectedNames::add);
        assertEquals(397, expectedNames.size());

        long start = System.nanoTime();
        try (HiggsAudioModel model = HiggsAudioModel.shapeOnly(HiggsAudioConfig.fromFile(dir.resolve("config.json")))) {
            Map<String, Tensor> params = model.namedParameters();
            assertEquals(expectedNames, new TreeSet<>(params.keySet()));
            Map<String, long[]> shapes = expectedShapes();
            assertEquals(expectedNames, new TreeSet<>(shapes.keySet()), "the test's own shape table covers every name");
            long bytes = 0;
            for (var e : params.entrySet()) {
                assertArrayEquals(shapes.get(e.getKey()), e.getValue().shape(), e.getKey());
                assertEquals(Device.META, e.getValue().device());
                assertEquals(DType.BFLOAT16, e.getValue().dtype());
                bytes += e.getValue().numel() * 2;
            }
            assertEquals(index.path("metadata").path("total_size").asLong(), bytes);
        }
        assertTrue(System.nanoTime() - start < 30_000_000_000L, "shape-only construction should take seconds");
    }
}
