package io.higgs4j.nn;

import io.higgs4j.safetensors.SafetensorsCheckpoint;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.*;

class StateDictLoaderTest {

    /** "0.weight" [2, 2], "0.bias" [2], "1.weight" [2], "1.bias" [2]: a Linear then a LayerNorm. */
    static Sequential model() {
        Sequential m = new Sequential();
        m.add(new Linear(2, 2, true, Init.cpu(DType.FLOAT32)));
        m.add(new LayerNorm(2, 1e-5, Init.cpu(DType.FLOAT32)));
        return m;
    }

    /** A checkpoint for model() with the values 1..4, 5..6, 7..8, 9..10 (exact in bfloat16 too). */
    static Map<String, Tensor> fitting(DType dtype) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("0.weight", Tensor.of(new float[] {1, 2, 3, 4}, 2, 2).to(dtype));
        m.put("0.bias", Tensor.of(new float[] {5, 6}, 2).to(dtype));
        m.put("1.weight", Tensor.of(new float[] {7, 8}, 2).to(dtype));
        m.put("1.bias", Tensor.of(new float[] {9, 10}, 2).to(dtype));
        return m;
    }

    static void load(Sequential m, Path file, Map<String, Tensor> tensors) {
        SafetensorsWriter.write(file, tensors);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(file)) {
            StateDictLoader.load(m, ckpt);
        }
    }

    @Test
    void copiesEveryValueConvertedToTheModulesDtype(@TempDir Path dir) {
        try (Sequential m = model(); Scope s = Scope.open()) {
            Tensor weight = m.getParameter("0.weight").get();
            load(m, dir.resolve("a.safetensors"), fitting(DType.BFLOAT16));
            assertSame(weight, m.getParameter("0.weight").get(), "values are copied into the tensors the module holds");
            Map<String, Tensor> p = m.namedParameters();
            assertEquals(DType.FLOAT32, p.get("0.weight").dtype());
            assertArrayEquals(new float[] {1, 2, 3, 4}, p.get("0.weight").toFloatArray());
            assertArrayEquals(new float[] {5, 6}, p.get("0.bias").toFloatArray());
            assertArrayEquals(new float[] {7, 8}, p.get("1.weight").toFloatArray());
            assertArrayEquals(new float[] {9, 10}, p.get("1.bias").toFloatArray());
        }
    }

    /** Loads the checkpoint, expects a refusal naming the file and every part, and checks nothing was copied. */
    static void assertRefused(Path file, Map<String, Tensor> tensors, String... parts) {
        try (Sequential m = model(); Scope s = Scope.open()) {
            Map<String, float[]> before = new LinkedHashMap<>();
            m.namedParameters().forEach((n, t) -> before.put(n, t.toFloatArray()));
            var e = assertThrows(IllegalArgumentException.class, () -> load(m, file, tensors));
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
            for (String part : parts) assertTrue(e.getMessage().contains(part), e.getMessage());
            m.namedParameters().forEach((n, t) -> assertArrayEquals(before.get(n), t.toFloatArray(), "nothing is copied: " + n));
        }
    }

    @Test
    void refusesAMissingKey(@TempDir Path dir) {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> t = fitting(DType.FLOAT32);
            t.remove("1.bias");
            assertRefused(dir.resolve("m.safetensors"), t, "missing 1 keys: [1.bias]");
        }
    }

    @Test
    void refusesAnUnexpectedKey(@TempDir Path dir) {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> t = fitting(DType.FLOAT32);
            t.put("2.weight", Tensor.ones(2));
            assertRefused(dir.resolve("u.safetensors"), t, "unexpected 1 keys: [2.weight]");
        }
    }

    @Test
    void refusesAWrongShape(@TempDir Path dir) {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> t = fitting(DType.FLOAT32);
            t.put("0.weight", Tensor.ones(3, 2));
            assertRefused(dir.resolve("s.safetensors"), t, "0.weight: checkpoint shape [3, 2], model shape [2, 2]");
        }
    }

    @Test
    void refusesIntegersForAFloatingPointParameter(@TempDir Path dir) {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> t = fitting(DType.FLOAT32);
            t.put("0.bias", Tensor.of(new long[] {5, 6}, 2));
            assertRefused(dir.resolve("d.safetensors"), t, "0.bias: dtype int64 is not floating point");
        }
    }

    @Test
    void listsEveryProblemAtOnce(@TempDir Path dir) {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> t = fitting(DType.FLOAT32);
            t.remove("0.bias");
            t.put("extra", Tensor.ones(1));
            t.put("1.weight", Tensor.ones(3));
            assertRefused(dir.resolve("all.safetensors"), t, "missing 1 keys: [0.bias]", "unexpected 1 keys: [extra]",
                    "1.weight: checkpoint shape [3], model shape [2]");
        }
    }

    @Test
    void renamesPrefixesIgnoredEntriesAndPieces(@TempDir Path dir) {
        try (Sequential m = model(); Scope s = Scope.open()) {
            Map<String, Tensor> t = new LinkedHashMap<>();
            fitting(DType.FLOAT32).forEach((n, v) -> t.put("encoder." + n, v));
            t.put("decoder.0.weight", Tensor.ones(7)); // another model's entry: ignored, not unexpected
            Path file = dir.resolve("r.safetensors");
            SafetensorsWriter.write(file, t);
            UnaryOperator<String> rename = n -> n.startsWith("encoder.") ? "tower." + n.substring("encoder.".length()) : null;
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(file)) {
                StateDictLoader.load(m, ckpt, "tower.", rename);
            }
            assertArrayEquals(new float[] {1, 2, 3, 4}, m.namedParameters().get("0.weight").toFloatArray());
            assertArrayEquals(new float[] {9, 10}, m.namedParameters().get("1.bias").toFloatArray());

            // The weight stored in two row blocks, concatenated along dimension 0.
            t.remove("encoder.0.weight");
            t.put("encoder.0.weight.top", Tensor.of(new float[] {-1, -2}, 1, 2));
            t.put("encoder.0.weight.bottom", Tensor.of(new float[] {-3, -4}, 1, 2));
            SafetensorsWriter.write(file, t);
            Map<String, List<String>> sources = new LinkedHashMap<>();
            for (String n : t.keySet()) {
                if (!n.startsWith("encoder.0.weight.")) sources.put(n, List.of(n));
            }
            sources.put("encoder.0.weight", List.of("encoder.0.weight.top", "encoder.0.weight.bottom"));
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(file)) {
                StateDictLoader.load(m, ckpt, "tower.", rename, sources);
            }
            assertArrayEquals(new float[] {-1, -2, -3, -4}, m.namedParameters().get("0.weight").toFloatArray());

            // Two entries renamed onto one parameter: refused, both named.
            UnaryOperator<String> clash = n -> n.equals("decoder.0.weight") ? "tower.1.bias" : rename.apply(n);
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(file)) {
                var e = assertThrows(IllegalArgumentException.class, () -> StateDictLoader.load(m, ckpt, "tower.", clash, sources));
                assertTrue(e.getMessage().contains("decoder.0.weight and encoder.1.bias both map to tower.1.bias"), e.getMessage());
            }
        }
    }
}
