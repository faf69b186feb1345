package io.higgs4j.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ContainerNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.higgs4j.audio.AudioFiles;
import io.higgs4j.audio.WavWriter;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.io.Npy;
import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.safetensors.SafetensorsException;
import io.higgs4j.safetensors.SafetensorsFile;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.tokenizer.AudioTokenizerConfig;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.trainer.data.ChatMlReader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Seeded fuzzing of every kind of file a user hands over: mutated bytes (and, for JSON, values of random types in
 * random places) must end in success or in one of our documented exceptions (IOException, IllegalArgumentException,
 * SafetensorsException) whose message names the file; never another exception, a hang (a per-case timeout) or a file
 * left behind. The seed of a failing case is in the message, to replay it.
 */
class InputFuzzTest {
    static final int CASES = 2000;
    static final long SEED = 20261204L;
    static final ObjectMapper JSON = new ObjectMapper();
    static ExecutorService worker;

    @TempDir
    Path dir;

    interface Reader {
        void read(Path file) throws Exception;
    }

    @BeforeAll
    static void start() {
        worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-case");
            t.setDaemon(true); // a hung case must not keep the JVM alive
            return t;
        });
    }

    @AfterAll
    static void stop() {
        worker.shutdownNow();
    }

    /** Runs CASES mutants of valid through reader; returns how many were accepted (the rest were refused properly). */
    int fuzz(String fileName, byte[] valid, boolean json, Reader reader) throws Exception {
        Path sub = Files.createDirectories(dir.resolve(fileName + ".d"));
        Path file = sub.resolve(fileName);
        Files.write(file, valid);
        reader.read(file); // the unmutated file reads
        Random rnd = new Random(SEED ^ fileName.hashCode());
        int accepted = 0;
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < CASES && problems.size() < 5; i++) {
            long caseSeed = rnd.nextLong();
            byte[] bytes = mutate(valid, json, new Random(caseSeed));
            Files.write(file, bytes);
            Future<?> f = worker.submit(() -> {
                reader.read(file);
                return null;
            });
            try {
                f.get(20, TimeUnit.SECONDS);
                accepted++;
            } catch (TimeoutException e) {
                f.cancel(true);
                fail(fileName + " case seed " + caseSeed + ": no answer within 20 s (a hang)");
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable t = e.getCause();
                boolean documented = t instanceof IOException || t instanceof IllegalArgumentException || t instanceof SafetensorsException;
                String m = t.getMessage();
                if (!documented || m == null || !m.contains(file.toString())) {
                    problems.add(fileName + " case seed " + caseSeed + ": " + t + (documented ? " (the message does not name the file)" : ""));
                }
            }
            try (Stream<Path> s = Files.list(sub)) {
                List<Path> left = s.toList();
                if (!left.equals(List.of(file))) problems.add(fileName + " case seed " + caseSeed + " left files: " + left);
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
        System.out.printf("fuzz %s: %d cases, %d read, %d refused with a message naming the file%n", fileName, CASES, accepted, CASES - accepted);
        // Both outcomes occur, or the mutations would not be reaching the checks (or the reader would accept anything).
        assertTrue(accepted > 0 && accepted < CASES * 9 / 10, fileName + ": " + accepted + " of " + CASES + " mutants were read");
        return accepted;
    }

    static final int[] INTERESTING = {0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFFFFFF, 0x80000000, 0xFFFF, 16, 44};

    /** One to four random edits: bit flips, interesting bytes and ints, inserts, deletes, truncation, duplication. */
    static byte[] mutate(byte[] valid, boolean json, Random rnd) throws IOException {
        if (json && rnd.nextBoolean()) return mutateJson(valid, rnd);
        byte[] b = valid.clone();
        int edits = 1 + rnd.nextInt(4);
        for (int e = 0; e < edits; e++) {
            int n = b.length;
            int at = n == 0 ? 0 : rnd.nextInt(n);
            switch (rnd.nextInt(7)) {
                case 0 -> { if (n > 0) b[at] ^= (byte) (1 << rnd.nextInt(8)); }
                case 1 -> { if (n > 0) b[at] = (byte) INTERESTING[rnd.nextInt(INTERESTING.length)]; }
                case 2 -> {
                    byte[] ins = new byte[1 + rnd.nextInt(8)];
                    rnd.nextBytes(ins);
                    b = splice(b, at, 0, ins);
                }
                case 3 -> b = splice(b, at, Math.min(n - at, 1 + rnd.nextInt(16)), new byte[0]);
                case 4 -> b = java.util.Arrays.copyOf(b, n == 0 ? 0 : rnd.nextInt(n));
                case 5 -> {
                    int len = Math.min(n - at, 1 + rnd.nextInt(32));
                    b = splice(b, at, 0, java.util.Arrays.copyOfRange(b, at, at + len));
                }
                default -> {
                    if (n >= 4) {
                        int v = INTERESTING[rnd.nextInt(INTERESTING.length)], p = rnd.nextInt(n - 3);
                        for (int k = 0; k < 4; k++) b[p + k] = (byte) (v >>> (8 * k));
                    }
                }
            }
        }
        return b;
    }

    static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
        return out;
    }

    /** Replaces, removes or adds one value anywhere in the tree (each line of JSONL is one tree). */
    static byte[] mutateJson(byte[] valid, Random rnd) throws IOException {
        String text = new String(valid, java.nio.charset.StandardCharsets.UTF_8);
        List<String> lines = text.lines().toList();
        boolean jsonl = lines.size() > 1 && text.trim().startsWith("{") && !text.trim().startsWith("{\n");
        int pick = jsonl ? rnd.nextInt(lines.size()) : -1;
        JsonNode root = JSON.readTree(jsonl ? lines.get(pick) : text);
        List<ContainerNode<?>> containers = new ArrayList<>();
        collect(root, containers);
        ContainerNode<?> c = containers.get(rnd.nextInt(containers.size()));
        JsonNode v = randomValue(rnd);
        if (c instanceof ObjectNode o) {
            List<String> keys = new ArrayList<>();
            o.fieldNames().forEachRemaining(keys::add);
            if (keys.isEmpty() || rnd.nextInt(8) == 0) o.set("k" + rnd.nextInt(3), v);
            else if (rnd.nextInt(6) == 0) o.remove(keys.get(rnd.nextInt(keys.size())));
            else o.set(keys.get(rnd.nextInt(keys.size())), v);
        } else if (c instanceof ArrayNode a) {
            if (a.isEmpty() || rnd.nextInt(4) == 0) a.add(v);
            else a.set(rnd.nextInt(a.size()), v);
        }
        String out = root.toString();
        if (jsonl) {
            List<String> l = new ArrayList<>(lines);
            l.set(pick, out);
            out = String.join("\n", l) + "\n";
        }
        return out.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    static void collect(JsonNode n, List<ContainerNode<?>> out) {
        if (n instanceof ContainerNode<?> c) {
            out.add(c);
            for (Iterator<JsonNode> it = n.elements(); it.hasNext(); ) collect(it.next(), out);
        }
    }

    static JsonNode randomValue(Random rnd) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        return switch (rnd.nextInt(12)) {
            case 0 -> f.textNode("eight");
            case 1 -> f.numberNode(64.5);
            case 2 -> f.numberNode(-1);
            case 3 -> f.numberNode(0);
            case 4 -> f.numberNode(1L << 40);
            case 5 -> f.booleanNode(rnd.nextBoolean());
            case 6 -> f.nullNode();
            case 7 -> f.arrayNode().add(1).add("x");
            case 8 -> f.objectNode().put("a", 1);
            case 9 -> f.numberNode(new java.math.BigInteger("123456789012345678901234567890"));
            case 10 -> f.numberNode(1e300);
            default -> f.numberNode(rnd.nextInt(5000));
        };
    }

    @Test
    void higgsConfigJson() throws Exception {
        byte[] valid = HiggsAudioConfig.preset("tiny").toJson().toPrettyString().getBytes();
        fuzz("config.json", valid, true, HiggsAudioConfig::fromFile);
    }

    @Test
    void adapterConfigJson() throws Exception {
        byte[] valid = new LoraConfig(16, 32, 0.05, false, LoraConfig.targets("attention"), null, List.of(0, 1), List.of("x"),
                List.of("audio_encoder_proj"), "base").toAdapterConfig().toPrettyString().getBytes();
        fuzz("adapter_config.json", valid, true, LoraModel::readConfig);
    }

    @Test
    void audioTokenizerConfigJson() throws Exception {
        ObjectNode c = JSON.createObjectNode().put("D", 8).put("codebook_dim", 4).put("sample_rate", 24000).put("bins", 16)
                .put("n_q", 8).put("semantic_techer", "hubert_base_general").put("encoder_dim", 2).put("decoder_dim", 32);
        c.putArray("ratios").add(8).add(5).add(4).add(2).add(3);
        ObjectNode h = c.putObject("semantic_model_config").put("hidden_size", 16).put("num_hidden_layers", 2)
                .put("num_attention_heads", 2).put("intermediate_size", 32).put("num_conv_pos_embeddings", 16)
                .put("num_conv_pos_embedding_groups", 4);
        h.putArray("conv_dim").add(8).add(8).add(8).add(8).add(8).add(8).add(8);
        fuzz("tokenizer-config.json", c.toPrettyString().getBytes(), true, AudioTokenizerConfig::load);
    }

    @Test
    void safetensorsCheckpoint() throws Exception {
        Path seed = dir.resolve("seed.safetensors");
        try (Scope s = Scope.open()) {
            SafetensorsWriter.write(seed, Map.of("a.weight", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3),
                    "b.ids", Tensor.of(new long[] {7, 8, 9}), "c.half", Tensor.of(new float[] {0.5f, -1}).to(io.higgs4j.torch.DType.BFLOAT16)),
                    Map.of("format", "pt"));
        }
        fuzz("model.safetensors", Files.readAllBytes(seed), false, file -> {
            try (SafetensorsFile f = SafetensorsFile.open(file); Scope s = Scope.open()) {
                for (String name : f.names()) f.load(name); // a few elements each: no heavy libtorch work
            }
        });
    }

    @Test
    void wav() throws Exception {
        Path seed = dir.resolve("seed.wav");
        float[] x = new float[300];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(i / 5.0) * 0.5f;
        WavWriter.write(seed, x, 24000);
        fuzz("clip.wav", Files.readAllBytes(seed), false, AudioFiles::read);
    }

    @Test
    void npyCodes() throws Exception {
        Path seed = dir.resolve("seed.npy");
        Npy.write(seed, new long[][] {{1, 2, 3, 4}, {5, 6, 7, 8}}, "<i8");
        fuzz("codes.npy", Files.readAllBytes(seed), false, Npy::read);
    }

    @Test
    void chatMlJsonl() throws Exception {
        String sample = "{\"messages\": [{\"role\": \"system\", \"content\": \"Generate audio.\"}, {\"role\": \"user\", \"content\": "
                + "[{\"type\": \"text\", \"text\": \"ref\"}, {\"type\": \"audio\", \"audio_url\": \"r.wav\", \"offset\": 0.5}]}, "
                + "{\"role\": \"assistant\", \"content\": [{\"type\": \"text\", \"text\": \"hi\"}, {\"type\": \"audio\", "
                + "\"audio_codes\": \"t.codes.npy\", \"duration\": 1.5}]}], \"start_index\": 1, \"speaker\": \"bob\", \"misc\": {\"speaker\": \"b\"}}";
        byte[] valid = (sample + "\n" + sample.replace("bob", "amy") + "\n" + sample.replace("\"start_index\": 1, ", "") + "\n").getBytes();
        fuzz("data.jsonl", valid, true, file -> ChatMlReader.read(file));
    }
}
