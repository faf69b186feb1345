package io.higgs4j.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.higgs4j.safetensors.StFiles.*;
import static org.junit.jupiter.api.Assertions.*;

class SafetensorsCheckpointTest {

    @TempDir
    Path dir;

    private static final String S1 = "model-00001-of-00002.safetensors";
    private static final String S2 = "model-00002-of-00002.safetensors";

    @Test
    void shardedWriteAndRead() throws IOException {
        float[] a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        short[] b = new short[30];
        for (int i = 0; i < b.length; i++) b[i] = bf16Truncate(i * 0.5f - 3);
        long[] c = {-1, 0, Long.MAX_VALUE};
        byte[] d = new byte[100];
        for (int i = 0; i < d.length; i++) d[i] = (byte) (i * 7);
        float[] e = {0.25f, -0.5f, 8, 16};
        Map<String, String> meta = Map.of("format", "pt");
        long before = Tensor.liveCount();
        try (Scope s = Scope.open()) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("a", Tensor.of(a, 2, 5));          // 40 bytes
            m.put("b", ofShorts(b, DType.BFLOAT16, 30)); // 60
            m.put("c", Tensor.of(c, 3));             // 24
            m.put("d", ofBytes(d, DType.UINT8, 10, 10)); // 100: a shard of its own
            m.put("e", Tensor.of(e, 4));             // 16
            // a stale single file and a stale shard of an earlier save, which loaders must not find
            write(dir.resolve("model.safetensors"), new byte[] {1, 2, 3});
            write(dir.resolve("model-00007-of-00009.safetensors"), new byte[] {1, 2, 3});
            write(dir.resolve("config.json"), "{}".getBytes());
            Path index = SafetensorsWriter.writeSharded(dir, m, 100, meta);
            assertEquals(dir.resolve(SafetensorsCheckpoint.INDEX_FILE), index);
        }
        assertEquals(before, Tensor.liveCount());
        List<String> shards = List.of("model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
                "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors");
        List<String> expectedFiles = new ArrayList<>(shards);
        expectedFiles.add("config.json");
        expectedFiles.add(SafetensorsCheckpoint.INDEX_FILE);
        assertEquals(expectedFiles.stream().sorted().toList(), listDir(dir), "stale files gone, no temporary files");

        JsonNode idx = new ObjectMapper().readTree(dir.resolve(SafetensorsCheckpoint.INDEX_FILE).toFile());
        assertEquals(240, idx.get("metadata").get("total_size").asLong());
        Map<String, String> weightMap = new LinkedHashMap<>();
        idx.get("weight_map").properties().forEach(en -> weightMap.put(en.getKey(), en.getValue().asText()));
        assertEquals(List.of("a", "b", "c", "d", "e"), List.copyOf(weightMap.keySet()));
        assertEquals(List.of(shards.get(0), shards.get(0), shards.get(1), shards.get(2), shards.get(3)),
                List.copyOf(weightMap.values()));

        for (Path open : List.of(dir, dir.resolve(SafetensorsCheckpoint.INDEX_FILE))) {
            try (Scope s = Scope.open(); SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(open)) {
                assertEquals(List.of("a", "b", "c", "d", "e"), ck.names());
                assertEquals(240, ck.totalSize().orElseThrow());
                assertEquals(240, ck.dataBytes());
                assertEquals(shards.stream().map(dir::resolve).toList(), ck.files());
                assertEquals(dir.resolve(shards.get(2)), ck.fileOf("d"));
                assertEquals(new TensorInfo(DType.UINT8, new long[] {10, 10}, 100), ck.info("d"));
                assertArrayEquals(a, ck.load("a").toFloatArray());
                assertArrayEquals(b, shorts(ck.load("b")));
                assertArrayEquals(c, ck.load("c").toLongArray());
                assertArrayEquals(d, bytes(ck.load("d")));
                assertArrayEquals(e, ck.load("e").toFloatArray());
                float[] bAsFloat = ck.load("b", DType.FLOAT32).toFloatArray();
                for (int i = 0; i < b.length; i++) assertEquals(bf16ToFloat(b[i]), bAsFloat[i]);
                var ex = assertThrows(SafetensorsException.class, () -> ck.load("nope"));
                assertTrue(ex.getMessage().contains("'nope'"), ex.getMessage());
            }
        }
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(shards.get(0)))) {
            assertEquals(meta, f.metadata(), "metadata in every shard");
            assertEquals(List.of("a", "b"), f.names());
        }

        // Saving again with fewer shards removes the shards the new index does not use.
        try (Scope s = Scope.open()) {
            SafetensorsWriter.writeSharded(dir, Map.of("z", Tensor.ones(3)), 1 << 20, Map.of());
        }
        assertEquals(List.of("config.json", "model-00001-of-00001.safetensors", SafetensorsCheckpoint.INDEX_FILE), listDir(dir));
        try (Scope s = Scope.open(); SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(dir)) {
            assertEquals(List.of("z"), ck.names());
            assertArrayEquals(new float[] {1, 1, 1}, ck.load("z").toFloatArray());
        }
    }

    /** Two real shards: S1 holds a and b, S2 holds c. */
    private void twoShards() {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> m1 = new LinkedHashMap<>();
            m1.put("a", Tensor.ones(2));
            m1.put("b", Tensor.zeros(3));
            SafetensorsWriter.write(dir.resolve(S1), m1, Map.of());
            SafetensorsWriter.write(dir.resolve(S2), Map.of("c", Tensor.ones(1)), Map.of());
        }
    }

    private Path index(String json) {
        return write(dir.resolve(SafetensorsCheckpoint.INDEX_FILE), json.getBytes());
    }

    private SafetensorsException refused(Path open, String tensor, String... fragments) {
        var e = assertThrows(SafetensorsException.class, () -> SafetensorsCheckpoint.open(open).close());
        assertEquals(tensor, e.tensor(), e.getMessage());
        if (tensor != null) assertTrue(e.getMessage().contains("tensor '" + tensor + "'"), e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' in: " + e.getMessage());
        return e;
    }

    @Test
    void indexPointingAtAMissingShard() {
        try (Scope s = Scope.open()) {
            SafetensorsWriter.write(dir.resolve(S1), Map.of("a", Tensor.ones(2)), Map.of());
        }
        Path idx = index("{\"metadata\":{\"total_size\":12},\"weight_map\":{\"a\":\"" + S1 + "\",\"b\":\"" + S2 + "\"}}");
        var e = refused(dir, "b", S2, "does not exist");
        assertEquals(idx, e.file());
    }

    @Test
    void nameInTheIndexButNotInItsShard() {
        twoShards();
        index("{\"weight_map\":{\"a\":\"" + S1 + "\",\"b\":\"" + S1 + "\",\"c\":\"" + S2 + "\",\"ghost\":\"" + S2 + "\"}}");
        refused(dir, "ghost", S2, "has no such tensor");
        // mapped to the wrong shard: the message says where it really is
        index("{\"weight_map\":{\"a\":\"" + S1 + "\",\"b\":\"" + S2 + "\",\"c\":\"" + S2 + "\"}}");
        refused(dir, "b", "maps it to shard '" + S2 + "'", "it is in '" + S1 + "'");
    }

    @Test
    void nameInTwoShards() {
        twoShards();
        try (Scope s = Scope.open()) {
            SafetensorsWriter.write(dir.resolve(S2), Map.of("c", Tensor.ones(1), "a", Tensor.ones(2)), Map.of());
        }
        index("{\"weight_map\":{\"a\":\"" + S1 + "\",\"b\":\"" + S1 + "\",\"c\":\"" + S2 + "\"}}");
        refused(dir, "a", "two shards", S1, S2);
    }

    @Test
    void shardTensorMissingFromTheIndex() {
        twoShards();
        index("{\"weight_map\":{\"a\":\"" + S1 + "\",\"c\":\"" + S2 + "\"}}");
        refused(dir, "b", S1, "index does not list it");
    }

    @Test
    void malformedIndexes() {
        twoShards();
        refused(index("{\"weight_map\":{\"a\":\"../" + S1 + "\"}}"), "a", "not a file name in the index's directory");
        refused(index("{\"weight_map\":{\"a\":\"/etc/" + S1 + "\"}}"), "a", "not a file name");
        refused(index("{\"weight_map\":{\"a\":1}}"), "a", "must be a shard file name");
        refused(index("{\"weight_map\":{\"a\":\"x\\u0000y.safetensors\"}}"), "a", "not a valid file name");
        refused(index("{\"metadata\":{}}"), null, "no \"weight_map\"");
        refused(index("{\"weight_map\":"), null, "not valid JSON");
        refused(index("{\"metadata\":{\"total_size\":-3},\"weight_map\":{}}"), null, "total_size");
        refused(dir.resolve("nothing-here.json"), null, "no such file");
        Path empty = dir.resolve("empty");
        assertDoesNotThrow(() -> Files.createDirectory(empty));
        refused(empty, null, "neither");
    }

    @Test
    void realIndexFixtureIsUnderstoodAsFarAsItsShards() {
        // The fixture is the real Higgs Audio v2 index without its (11.5 GB) shards: opening it must fail cleanly on the
        // first missing shard, after parsing the real index.
        Path real = io.higgs4j.higgs.CheckpointNamesTestAccess.fixture().resolve(SafetensorsCheckpoint.INDEX_FILE);
        // shards are opened in file-name order; the first tensor the index maps to shard 1 is named
        var e = refused(real, "embed_tokens.weight", "model-00001-of-00003.safetensors", "does not exist");
        assertEquals(real, e.file());
    }
}
