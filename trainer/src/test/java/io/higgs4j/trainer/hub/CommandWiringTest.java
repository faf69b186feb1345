package io.higgs4j.trainer.hub;

import io.higgs4j.trainer.data.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The commands take Hub ids: bin/higgs4j's Main in a child JVM whose environment points HF_ENDPOINT at a stub Hub and
 * the cache into a temporary directory (the commands read the real environment, so it is set for the child only).
 */
class CommandWiringTest {

    static final String COMMIT = "89abcdef0123456789abcdef0123456789abcdef";

    @TempDir Path tmp;

    record Run(int rc, String out, String err) {}

    Run run(String endpoint, Map<String, String> extra, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "io.higgs4j.trainer.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(tmp.resolve("out.txt").toFile()).redirectError(tmp.resolve("err.txt").toFile());
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("HF_") || k.startsWith("HUGGING") || k.equals("TRANSFORMERS_OFFLINE") || k.equals("XDG_CACHE_HOME"));
        env.put("HOME", tmp.resolve("home").toString());
        env.put("HF_HOME", tmp.resolve("hf-home").toString());
        env.put("HF_HUB_CACHE", tmp.resolve("cache").toString());
        env.put("HF_ENDPOINT", endpoint);
        env.putAll(extra);
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("higgs4j " + String.join(" ", args) + " did not end in 120 s");
        }
        return new Run(p.exitValue(), Files.readString(tmp.resolve("out.txt")), Files.readString(tmp.resolve("err.txt")));
    }

    @Test
    void paramsReadsTheConfigOfAnIdThenFromTheCacheOffline() throws Exception {
        byte[] config = Files.readAllBytes(Fixtures.releasedModel().resolve("config.json"));
        try (StubHub hub = new StubHub("bosonai/higgs-audio-v2-generation-3B-base", COMMIT)) {
            hub.add("config.json", config, false);
            hub.add("model-00001-of-00003.safetensors", "weights".getBytes(StandardCharsets.UTF_8), true);
            Run r = run(hub.endpoint(), Map.of(), "params", "--config", "bosonai/higgs-audio-v2-generation-3B-base");
            assertEquals(0, r.rc(), r.err());
            assertTrue(r.out().contains("Total parameters: 5,771,283,456"), r.out());
            assertTrue(r.err().contains("bosonai/higgs-audio-v2-generation-3B-base (model configuration) at commit 89abcde"), r.err());
            assertEquals(List.of("config.json"), hub.requestsFor("/resolve/").stream().map(q -> q.rawPath().substring(q.rawPath().lastIndexOf('/') + 1)).toList(),
                    "params fetches the config only");
        }
        Run r = run("http://127.0.0.1:9", Map.of("HF_HUB_OFFLINE", "1"), "params", "--config", "bosonai/higgs-audio-v2-generation-3B-base");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("Total parameters: 5,771,283,456"), r.out());
    }

    @Test
    void aMissOfflineIsOneLineNamingTheCommandAndTheId() throws Exception {
        Run r = run("http://127.0.0.1:9", Map.of("HF_HUB_OFFLINE", "1"), "generate", "--model_path", "acme/no-such-model", "--text", "hello",
                "--codes_output", tmp.resolve("x.codes.npy").toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().startsWith("higgs4j generate: acme/no-such-model (model) is not in the Hugging Face cache " + tmp.resolve("cache")), r.err());
        assertTrue(r.err().contains("HF_HUB_OFFLINE=1 forbids downloading"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    @Test
    void argumentsAreCheckedBeforeAnyDownload() throws Exception {
        // the endpoint is dead: an error about the Hub would mean the id was looked up before the options were checked
        Run r = run("http://127.0.0.1:9", Map.of(), "train", "--config", "tiny", "--data_path", tmp.toString(), "--output_dir",
                tmp.resolve("out").toString(), "--whisper_model", "openai/whisper-large-v3");
        assertEquals(2, r.rc(), r.err());
        assertTrue(r.err().contains("--whisper_model needs --encode_whisper_embed"), r.err());
        r = run("http://127.0.0.1:9", Map.of(), "generate", "--model_path", "acme/model", "--text", "hi", "--codes_output",
                tmp.resolve("x.codes.npy").toString(), "--max_new_tokens", "0");
        assertTrue(r.err().contains("--max_new_tokens must be >= 1"), r.err());
    }
}
