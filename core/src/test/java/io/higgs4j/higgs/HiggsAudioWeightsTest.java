package io.higgs4j.higgs;

import io.higgs4j.nn.Init;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class HiggsAudioWeightsTest {

    static HiggsAudioModel tiny(long seed) {
        Torch.manualSeed(seed);
        return new HiggsAudioModel(HiggsAudioConfig.preset("tiny"), Init.cpu(DType.FLOAT32));
    }

    @Test
    void bf16ShardedCheckpointLoadsIntoAFloat32Model(@TempDir Path dir) {
        try (HiggsAudioModel a = tiny(1); HiggsAudioModel b = tiny(2); Scope s = Scope.open()) {
            Map<String, Tensor> bf16 = new LinkedHashMap<>();
            a.namedParameters().forEach((n, t) -> bf16.put(n, t.to(DType.BFLOAT16)));
            SafetensorsWriter.writeSharded(dir, bf16, 200_000, Map.of("format", "pt"));
            HiggsAudioWeights.load(b, dir);
            for (var e : b.namedParameters().entrySet()) {
                assertEquals(DType.FLOAT32, e.getValue().dtype());
                assertArrayEquals(bf16.get(e.getKey()).toFloatArray(), e.getValue().toFloatArray(), e.getKey());
            }
        }
    }

    @Test
    void everyMismatchIsNamed(@TempDir Path dir) {
        try (HiggsAudioModel a = tiny(1); HiggsAudioModel b = tiny(2); Scope s = Scope.open()) {
            Map<String, Tensor> params = new LinkedHashMap<>(a.namedParameters());
            params.remove("layers.1.mlp.up_proj.weight");
            params.put("layers.9.extra.weight", Tensor.ones(2));
            params.put("norm.weight", Tensor.ones(65));
            Path file = dir.resolve("model.safetensors");
            SafetensorsWriter.write(file, params);
            float[] before = b.norm.weight().toFloatArray();
            var e = assertThrows(IllegalArgumentException.class, () -> HiggsAudioWeights.load(b, file));
            for (String part : List.of("missing 1 keys: [layers.1.mlp.up_proj.weight]", "unexpected 1 keys: [layers.9.extra.weight]",
                    "norm.weight: checkpoint shape [65], model shape [64]")) {
                assertTrue(e.getMessage().contains(part), e.getMessage());
            }
            assertArrayEquals(before, b.norm.weight().toFloatArray(), "nothing is loaded when the checkpoint does not fit");
        }
    }

    @Test
    void frozenAndTrainableHalvesAreConcatenated(@TempDir Path dir) {
        try (HiggsAudioModel a = tiny(1); HiggsAudioModel b = tiny(2); Scope s = Scope.open()) {
            Map<String, Tensor> params = new LinkedHashMap<>(a.namedParameters());
            Tensor embed = params.remove("embed_tokens.weight");
            params.put("embed_tokens.embedding_frozen.weight", embed.narrow(0, 0, 1000));
            params.put("embed_tokens.embedding_trainable.weight", embed.narrow(0, 1000, 24));
            Tensor head = params.remove("audio_decoder_proj.text_lm_head.weight");
            params.put("audio_decoder_proj.text_lm_head.linear_trainable.weight", head.narrow(0, 1000, 24));
            params.put("audio_decoder_proj.text_lm_head.linear_frozen.weight", head.narrow(0, 0, 1000));
            SafetensorsWriter.write(dir.resolve("model.safetensors"), params);
            HiggsAudioWeights.load(b, dir);
            assertArrayEquals(embed.toFloatArray(), b.embedTokens.weight().toFloatArray());
            assertArrayEquals(head.toFloatArray(), b.audioDecoderProj.textLmHead.weight().toFloatArray());

            params.remove("audio_decoder_proj.text_lm_head.linear_frozen.weight");
            SafetensorsWriter.write(dir.resolve("model.safetensors"), params);
            var e = assertThrows(IllegalArgumentException.class, () -> HiggsAudioWeights.load(b, dir));
            assertTrue(e.getMessage().contains("frozen"), e.getMessage());
        }
    }
}
