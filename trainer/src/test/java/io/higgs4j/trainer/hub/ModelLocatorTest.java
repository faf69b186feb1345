package io.higgs4j.trainer.hub;

import io.higgs4j.trainer.hub.ModelLocator.Kind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Models by their Hub id, against a stub Hub on 127.0.0.1 (never the real one) and a cache in a temporary directory. */
class ModelLocatorTest {

    static final String REPO = "acme/tts-model";
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    @TempDir Path tmp;
    Path cache;
    StubHub hub;
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    @BeforeEach
    void setUp() {
        cache = tmp.resolve("hf-cache");
    }

    @AfterEach
    void tearDown() {
        if (hub != null) {
            assertFalse(hub.overflowed(), "the client kept asking the stub Hub");
            hub.close();
        }
    }

    /** The environment of a test: nothing of the real one; the cache and HF_HOME in tmp, the endpoint given. */
    Map<String, String> env(String endpoint, String... more) {
        Map<String, String> env = new HashMap<>();
        env.put("HOME", tmp.resolve("home").toString());
        env.put("HF_HOME", tmp.resolve("hf-home").toString());
        env.put("HF_HUB_CACHE", cache.toString());
        env.put("HF_ENDPOINT", endpoint);
        for (int i = 0; i < more.length; i += 2) env.put(more[i], more[i + 1]);
        return env;
    }

    ModelLocator locator(Map<String, String> env) {
        return locator(env, 3);
    }

    ModelLocator locator(Map<String, String> env, int attempts) {
        PrintStream log = new PrintStream(err, true, StandardCharsets.UTF_8);
        return new ModelLocator(env, log, new DownloadProgress(log, false, 0),
                new HubClient.Tuning(attempts, Duration.ZERO, Duration.ofMillis(400)));
    }

    /** An endpoint where nothing listens: a port bound and released. */
    static String deadEndpoint() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return "http://127.0.0.1:" + s.getLocalPort();
        }
    }

    static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A hub with a single-file model, its tokenizer files and files no command needs. */
    StubHub modelHub() throws IOException {
        StubHub h = new StubHub(REPO, COMMIT);
        h.add("config.json", text("{\"model_type\": \"higgs_audio\"}"), false);
        h.add("tokenizer.json", text("{\"version\": \"1.0\"}"), false);
        h.add("tokenizer_config.json", text("{}"), false);
        h.add("model.safetensors", bytes(300_000, 1), true);
        h.add("README.md", text("# a model"), false);
        h.add("flax_model.msgpack", bytes(1000, 2), true);
        h.add("onnx/model.onnx", bytes(1000, 3), true);
        return h;
    }

    private static List<String> fileRequests(StubHub h) {
        return h.requests().stream().filter(r -> r.rawPath().contains("/resolve/")).map(r -> r.rawPath().substring(r.rawPath().lastIndexOf('/') + 1)).toList();
    }

    // ---- the cache ----

    /** Writes a snapshot as huggingface_hub does: blobs by sha256, relative links, refs/REVISION. */
    static Path writeCached(Path cache, String repo, String revision, String commit, Map<String, byte[]> files) throws IOException {
        Path repoDir = cache.resolve("models--" + repo.replace("/", "--"));
        Path snapshot = repoDir.resolve("snapshots").resolve(commit);
        Files.createDirectories(snapshot);
        Files.createDirectories(repoDir.resolve("blobs"));
        for (var e : files.entrySet()) {
            Path blob = repoDir.resolve("blobs").resolve(StubHub.hex("SHA-256", e.getValue(), null));
            Files.write(blob, e.getValue());
            Files.createSymbolicLink(snapshot.resolve(e.getKey()), Path.of("../../blobs").resolve(blob.getFileName()));
        }
        if (revision != null) {
            Files.createDirectories(repoDir.resolve("refs"));
            Files.writeString(repoDir.resolve("refs").resolve(revision), commit);
        }
        return snapshot;
    }

    @Test
    void aCacheHitNeedsNoServer() throws IOException {
        Path snapshot = writeCached(cache, REPO, "main", COMMIT, Map.of("config.json", text("{}"), "model.safetensors", bytes(100, 4)));
        ModelLocator l = locator(env(deadEndpoint()));
        assertEquals(snapshot, l.resolve(REPO, Kind.MODEL));
        assertEquals(snapshot, l.resolve(REPO, Kind.MODEL_CONFIG));
        assertEquals(snapshot, l.resolve(REPO, Kind.AUDIO_TOKENIZER));
        assertEquals(snapshot, l.resolve(REPO + "@" + COMMIT, Kind.MODEL), "a commit revision is a snapshot directly");
        assertEquals("", err.toString(StandardCharsets.UTF_8), "a hit prints nothing");
    }

    @Test
    void aShardedCacheHitNeedsEveryShardOfItsIndex() throws IOException {
        String index = "{\"metadata\": {}, \"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\", \"b\": \"model-00002-of-00002.safetensors\"}}";
        Path snapshot = writeCached(cache, REPO, "main", COMMIT, Map.of("config.json", text("{}"), "model.safetensors.index.json", text(index),
                "model-00001-of-00002.safetensors", bytes(10, 5)));
        ModelLocator offline = locator(env(deadEndpoint(), "HF_HUB_OFFLINE", "1"));
        assertEquals(snapshot, offline.resolve(REPO, Kind.MODEL_CONFIG), "no weights needed");
        HubException e = assertThrows(HubException.class, () -> offline.resolve(REPO, Kind.MODEL));
        assertTrue(e.getMessage().contains("lacks model-00002-of-00002.safetensors"), e.getMessage());
        Files.createSymbolicLink(snapshot.resolve("model-00002-of-00002.safetensors"), Path.of("model-00001-of-00002.safetensors"));
        assertEquals(snapshot, offline.resolve(REPO, Kind.MODEL));
        assertEquals(snapshot, offline.resolve(REPO, Kind.WHISPER));
    }

    @Test
    void aDanglingLinkIsAMiss() throws IOException {
        Path snapshot = writeCached(cache, REPO, "main", COMMIT, Map.of("config.json", text("{}")));
        Files.createSymbolicLink(snapshot.resolve("model.pth"), Path.of("../../blobs/gone"));
        HubException e = assertThrows(HubException.class, () -> locator(env(deadEndpoint(), "HF_HUB_OFFLINE", "true")).resolve(REPO, Kind.AUDIO_TOKENIZER));
        assertTrue(e.getMessage().contains("model.safetensors or model.pth"), e.getMessage());
    }

    // ---- downloads ----

    @Test
    void aDownloadFillsTheCacheLayoutAndASecondResolveAsksNothing() throws IOException {
        hub = modelHub();
        Path snapshot = locator(env(hub.endpoint())).resolve(REPO, Kind.MODEL);

        Path repoDir = cache.resolve("models--acme--tts-model");
        assertEquals(repoDir.resolve("snapshots").resolve(COMMIT), snapshot);
        assertEquals(COMMIT, Files.readString(repoDir.resolve("refs/main")));
        try (Stream<Path> s = Files.list(snapshot)) {
            assertEquals(List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"),
                    s.map(p -> p.getFileName().toString()).sorted().toList(), "only what a model needs");
        }
        for (StubHub.File f : hub.files.values()) {
            Path entry = snapshot.resolve(f.name);
            if (!Files.exists(entry)) continue;
            String blobName = f.lfs ? f.sha256 : f.blobId; // as huggingface_hub: LFS by sha256, others by their git hash
            assertTrue(Files.isSymbolicLink(entry), entry + " is a link");
            assertEquals(Path.of("../../blobs").resolve(blobName), Files.readSymbolicLink(entry));
            assertArrayEquals(f.data, Files.readAllBytes(entry));
            assertArrayEquals(f.data, Files.readAllBytes(repoDir.resolve("blobs").resolve(blobName)));
        }
        try (Stream<Path> s = Files.list(repoDir.resolve("blobs"))) {
            assertEquals(4, s.peek(p -> assertFalse(p.toString().endsWith(".incomplete"), p.toString())).count());
        }
        assertEquals(List.of("config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"), fileRequests(hub));
        List<StubHub.Request> api = hub.requestsFor("/api/models/");
        assertEquals(1, api.size());
        assertEquals("/api/models/acme/tts-model/revision/main", api.getFirst().rawPath());
        assertEquals("blobs=true", api.getFirst().query());
        assertNull(api.getFirst().authorization(), "no token, no header");
        assertEquals(1, hub.requestsFor("/cdn/").size(), "the LFS file through the redirect");
        String log = err.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("acme/tts-model (model) at commit 0123456"), log);
        assertTrue(log.contains("model.safetensors: 300.0 / 300.0 kB"), log);

        int before = hub.requests().size();
        assertEquals(snapshot, locator(env(hub.endpoint())).resolve(REPO, Kind.MODEL));
        assertEquals(before, hub.requests().size(), "the second resolve asks the Hub nothing");
    }

    @Test
    void aShardedModelBringsTheIndexAndItsShardsOnly() throws IOException {
        hub = new StubHub(REPO, COMMIT);
        hub.add("config.json", text("{}"), false);
        hub.add("model.safetensors.index.json", text("{\"weight_map\": {\"x\": \"model-00001-of-00002.safetensors\", "
                + "\"y\": \"model-00002-of-00002.safetensors\", \"z\": \"model-00001-of-00002.safetensors\"}}"), false);
        hub.add("model-00001-of-00002.safetensors", bytes(5000, 6), true);
        hub.add("model-00002-of-00002.safetensors", bytes(6000, 7), true);
        hub.add("model.fp32-00001-of-00001.safetensors", bytes(7000, 8), true); // a variant outside the index
        hub.add("preprocessor_config.json", text("{\"feature_size\": 128}"), false);
        Path snapshot = locator(env(hub.endpoint())).resolve(REPO, Kind.WHISPER);
        assertEquals(List.of("config.json", "preprocessor_config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors"), fileRequests(hub));
        assertTrue(Files.isRegularFile(snapshot.resolve("model-00002-of-00002.safetensors")));
    }

    @Test
    void theAudioTokenizerTakesTheTorchFileWhenThereIsNoSafetensors() throws IOException {
        hub = new StubHub("bosonai/higgs-audio-v2-tokenizer", COMMIT);
        hub.add("config.json", text("{}"), false);
        hub.add("model.pth", bytes(4000, 9), true);
        hub.add("tokenizer.json", text("{}"), false);
        Path snapshot = locator(env(hub.endpoint())).resolve("bosonai/higgs-audio-v2-tokenizer", Kind.AUDIO_TOKENIZER);
        assertEquals(List.of("config.json", "model.pth"), fileRequests(hub));
        assertTrue(Files.isRegularFile(snapshot.resolve("model.pth")));
    }

    @Test
    void aRepositoryWithoutWhatTheKindNeedsIsRefusedBeforeAnyFile() throws IOException {
        hub = new StubHub(REPO, COMMIT);
        hub.add("config.json", text("{}"), false);
        hub.add("pytorch_model.bin", bytes(100, 10), true);
        HubException e = assertThrows(HubException.class, () -> locator(env(hub.endpoint())).resolve(REPO, Kind.MODEL));
        assertTrue(e.getMessage().contains("has no model.safetensors or model.safetensors.index.json"), e.getMessage());
        assertTrue(fileRequests(hub).isEmpty());
    }

    @Test
    void aConfigOnlyResolveLeavesTheWeightsForLater() throws IOException {
        hub = modelHub();
        Path snapshot = locator(env(hub.endpoint())).resolve(REPO, Kind.MODEL_CONFIG);
        assertFalse(Files.exists(snapshot.resolve("model.safetensors")));
        assertEquals(List.of("config.json", "tokenizer.json", "tokenizer_config.json"), fileRequests(hub));
        // the full model then fetches only what is missing
        assertEquals(snapshot, locator(env(hub.endpoint())).resolve(REPO, Kind.MODEL));
        assertEquals(List.of("config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"), fileRequests(hub));
    }

    @Test
    void anInterruptedDownloadResumesWithARangeRequest() throws IOException {
        hub = modelHub();
        StubHub.File weights = hub.files.get("model.safetensors");
        weights.cutAfter = 120_000;
        Path snapshot = locator(env(hub.endpoint())).resolve(REPO, Kind.MODEL);
        List<StubHub.Request> gets = hub.requestsFor("/cdn/");
        assertEquals(2, gets.size(), gets.toString());
        assertNull(gets.get(0).range());
        // the resume starts where the kept bytes end: at most the 120,000 sent before the cut (the connection is
        // dropped, so bytes still in flight may be lost), and never at 0
        String range = gets.get(1).range();
        assertTrue(range != null && range.matches("bytes=\\d+-"), gets.toString());
        long from = Long.parseLong(range.substring(6, range.length() - 1));
        assertTrue(from > 0 && from <= 120_000, range);
        assertArrayEquals(weights.data, Files.readAllBytes(snapshot.resolve("model.safetensors")));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("retrying (2 of 3)"), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aConnectionDroppedBeforeAnAnswerIsRetried() throws IOException {
        hub = modelHub();
        StubHub.File weights = hub.files.get("model.safetensors");
        weights.dropOnce = true;
        Path snapshot = locator(env(hub.endpoint())).resolve(REPO, Kind.MODEL);
        assertEquals(2, hub.requestsFor("/cdn/").size());
        assertArrayEquals(weights.data, Files.readAllBytes(snapshot.resolve("model.safetensors")));
    }

    @Test
    void aDownloadCutShortIsResumedByTheNextRun() throws IOException {
        hub = modelHub();
        StubHub.File weights = hub.files.get("model.safetensors");
        weights.cutAfter = 100_000;
        HubException e = assertThrows(HubException.class, () -> locator(env(hub.endpoint()), 1).resolve(REPO, Kind.MODEL));
        assertTrue(e.getMessage().contains("run again to resume"), e.getMessage());
        Path incomplete = cache.resolve("models--acme--tts-model/blobs/" + weights.sha256 + ".incomplete");
        // at most the 100,000 bytes sent before the cut: the connection is dropped, so bytes still in flight may be
        // lost (a CI run kept 97,543); never none
        long kept = Files.size(incomplete);
        assertTrue(kept > 0 && kept <= 100_000, "kept " + kept);
        assertFalse(Files.exists(cache.resolve("models--acme--tts-model/snapshots/" + COMMIT + "/model.safetensors")));
        assertFalse(Files.exists(cache.resolve("models--acme--tts-model/refs/main")), "no ref before the snapshot is whole");

        Path snapshot = locator(env(hub.endpoint())).resolve(REPO, Kind.MODEL);
        assertEquals("bytes=" + kept + "-", hub.requestsFor("/cdn/").getLast().range(), "resumed where the kept bytes end");
        assertArrayEquals(weights.data, Files.readAllBytes(snapshot.resolve("model.safetensors")));
        assertFalse(Files.exists(incomplete));
        assertEquals(List.of("config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors", "model.safetensors"),
                fileRequests(hub), "the files already in the snapshot are not asked for again");
    }

    @Test
    void aStalledTransferIsAbandonedAndResumed() throws IOException {
        hub = modelHub();
        StubHub.File weights = hub.files.get("model.safetensors");
        weights.stallAfter = 50_000;
        weights.stallMillis = 3_000; // longer than the test's stall timeout (400 ms)
        Path snapshot = locator(env(hub.endpoint())).resolve(REPO, Kind.MODEL);
        assertEquals("bytes=50000-", hub.requestsFor("/cdn/").getLast().range());
        assertArrayEquals(weights.data, Files.readAllBytes(snapshot.resolve("model.safetensors")));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("no data for"), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aWrongSha256IsRefusedAndNothingIsKept() throws IOException {
        hub = modelHub();
        hub.files.get("model.safetensors").listedSha256 = "f".repeat(64);
        HubException e = assertThrows(HubException.class, () -> locator(env(hub.endpoint())).resolve(REPO, Kind.MODEL));
        assertTrue(e.getMessage().contains("model.safetensors has sha256 " + hub.files.get("model.safetensors").sha256), e.getMessage());
        assertNothingKeptFor("model.safetensors");
    }

    @Test
    void aWrongSizeIsRefusedAndNothingIsKept() throws IOException {
        hub = modelHub();
        hub.files.get("config.json").listedSize = 5; // a small, non-LFS file: checked by its size
        HubException e = assertThrows(HubException.class, () -> locator(env(hub.endpoint())).resolve(REPO, Kind.MODEL));
        assertTrue(e.getMessage().contains("config.json has " + hub.files.get("config.json").data.length + " bytes where the Hub lists 5"), e.getMessage());
        assertNothingKeptFor("config.json");
    }

    private void assertNothingKeptFor(String file) throws IOException {
        Path repoDir = cache.resolve("models--acme--tts-model");
        assertFalse(Files.exists(repoDir.resolve("snapshots").resolve(COMMIT).resolve(file), LinkOption()), "no snapshot entry");
        assertFalse(Files.exists(repoDir.resolve("refs/main")), "no ref");
        if (Files.isDirectory(repoDir.resolve("blobs"))) {
            StubHub.File f = hub.files.get(file);
            try (Stream<Path> s = Files.list(repoDir.resolve("blobs"))) {
                assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(f.lfs ? f.sha256 : f.blobId)), "no blob, no partial file");
            }
        }
    }

    private static java.nio.file.LinkOption LinkOption() {
        return java.nio.file.LinkOption.NOFOLLOW_LINKS;
    }

    @Test
    void theTokenReachesTheHubAsABearerHeader() throws IOException {
        hub = modelHub();
        locator(env(hub.endpoint(), "HF_TOKEN", "hf_secret")).resolve(REPO, Kind.MODEL_CONFIG);
        assertFalse(hub.requests().isEmpty());
        for (StubHub.Request r : hub.requests()) assertEquals("Bearer hf_secret", r.authorization(), r.rawPath());
    }

    @Test
    void theTokenMayComeFromTheOlderVariableOrTheLoginFile() throws IOException {
        assertEquals("hf_old", HubSettings.from(env("http://x", "HUGGING_FACE_HUB_TOKEN", "hf_old")).token());
        Files.createDirectories(tmp.resolve("hf-home"));
        Files.writeString(tmp.resolve("hf-home/token"), "hf_file\n");
        HubSettings s = HubSettings.from(env("http://x"));
        assertEquals("hf_file", s.token());
        assertFalse(s.toString().contains("hf_file"), "the token is never printed");
        assertEquals("hf_env", HubSettings.from(env("http://x", "HF_TOKEN", "hf_env")).token());
    }

    // ---- messages ----

    @Test
    void offlineOnAMissIsAClearError() throws IOException {
        HubException e = assertThrows(HubException.class, () -> locator(env(deadEndpoint(), "HF_HUB_OFFLINE", "1")).resolve(REPO + "@v2", Kind.MODEL));
        String m = e.getMessage();
        assertTrue(m.contains("acme/tts-model@v2 (model) is not in the Hugging Face cache " + cache), m);
        assertTrue(m.contains("HF_HUB_OFFLINE=1 forbids downloading"), m);
        assertTrue(m.contains("huggingface-cli download acme/tts-model --revision v2"), m);
        assertFalse(m.contains("\n"), "one line");
    }

    @Test
    void anUnreachableHubIsAClearError() throws IOException {
        String dead = deadEndpoint();
        HubException e = assertThrows(HubException.class, () -> locator(env(dead)).resolve(REPO, Kind.MODEL));
        String m = e.getMessage();
        assertTrue(m.contains("acme/tts-model is not in the Hugging Face cache") && m.contains("cannot be reached"), m);
        assertTrue(m.contains("huggingface-cli download acme/tts-model`"), m);
        assertTrue(m.contains("or give a local directory"), m);
    }

    @Test
    void unauthorizedForbiddenAndUnknownHaveTheirOwnMessages() throws IOException {
        hub = modelHub();
        hub.metadataStatus = 401;
        String m = assertThrows(HubException.class, () -> locator(env(hub.endpoint())).resolve(REPO, Kind.MODEL)).getMessage();
        assertTrue(m.contains("(401)") && m.contains("gated or private") && m.contains("set HF_TOKEN"), m);
        m = assertThrows(HubException.class, () -> locator(env(hub.endpoint(), "HF_TOKEN", "hf_bad")).resolve(REPO, Kind.MODEL)).getMessage();
        assertTrue(m.contains("refused the token from HF_TOKEN (401)"), m);
        assertFalse(m.contains("hf_bad"));

        hub.metadataStatus = 404;
        hub.metadataErrorCode = "RepoNotFound";
        m = assertThrows(HubException.class, () -> locator(env(hub.endpoint())).resolve(REPO, Kind.MODEL)).getMessage();
        assertTrue(m.contains("no such model on the Hub (404)"), m);

        hub.metadataStatus = 200;
        m = assertThrows(HubException.class, () -> locator(env(hub.endpoint())).resolve(REPO + "@no-such-branch", Kind.MODEL)).getMessage();
        assertTrue(m.contains("no revision 'no-such-branch'"), m);

        hub.files.get("model.safetensors").failStatus = 403; // gated: the file list is public, the files are not
        m = assertThrows(HubException.class, () -> locator(env(hub.endpoint(), "HF_TOKEN", "hf_x")).resolve(REPO, Kind.MODEL)).getMessage();
        assertTrue(m.contains("access denied (403)") && m.contains("accept its license on " + hub.endpoint() + "/" + REPO), m);
        assertEquals(1, hub.requestsFor("/resolve/" + COMMIT + "/model.safetensors").size(), "a refusal is not retried");
    }

    // ---- revisions ----

    @Test
    void aRevisionIsAskedForAndRecordedUnderRefs() throws IOException {
        hub = modelHub();
        hub.revisions.put("v1.0", COMMIT);
        hub.revisions.put("refs/pr/1", COMMIT);
        Path snapshot = locator(env(hub.endpoint())).resolve(REPO + "@v1.0", Kind.MODEL_CONFIG);
        assertEquals(COMMIT, Files.readString(cache.resolve("models--acme--tts-model/refs/v1.0")));
        assertFalse(Files.exists(cache.resolve("models--acme--tts-model/refs/main")));
        assertEquals("/api/models/acme/tts-model/revision/v1.0", hub.requests().getFirst().rawPath());

        assertEquals(snapshot, locator(env(hub.endpoint())).resolve(REPO + "@refs/pr/1", Kind.MODEL_CONFIG));
        assertEquals("/api/models/acme/tts-model/revision/refs%2Fpr%2F1", hub.requestsFor("/api/").getLast().rawPath());
        assertEquals(COMMIT, Files.readString(cache.resolve("models--acme--tts-model/refs/refs/pr/1")));
        assertEquals(2, hub.requestsFor("/api/").size());
        assertEquals(3, fileRequests(hub).size(), "the second revision found its files in the snapshot");
    }

    @Test
    void aCommitRevisionIsDownloadedWithoutARef() throws IOException {
        hub = modelHub();
        Path snapshot = locator(env(hub.endpoint())).resolve(REPO + "@" + COMMIT, Kind.MODEL_CONFIG);
        assertEquals(cache.resolve("models--acme--tts-model/snapshots/" + COMMIT), snapshot);
        assertFalse(Files.exists(cache.resolve("models--acme--tts-model/refs")), "huggingface_hub writes no ref for a commit");
        int before = hub.requests().size();
        assertEquals(snapshot, locator(env(hub.endpoint())).resolve(REPO + "@" + COMMIT, Kind.MODEL_CONFIG));
        assertEquals(before, hub.requests().size());
    }

    @Test
    void withoutBlobHashesTheEtagNamesTheBlob() throws IOException {
        hub = modelHub();
        hub.listBlobIds = false;
        Path snapshot = locator(env(hub.endpoint())).resolve(REPO, Kind.MODEL_CONFIG);
        StubHub.File config = hub.files.get("config.json");
        assertEquals(Path.of("../../blobs").resolve(config.blobId), Files.readSymbolicLink(snapshot.resolve("config.json")));
        assertEquals(1, hub.requests().stream().filter(r -> r.method().equals("HEAD") && r.rawPath().endsWith("/config.json")).count());
    }

    // ---- ids and paths ----

    @Test
    void aLocalDirectoryNamedLikeAnIdWins() throws IOException {
        // the tests run in the module's directory: target/NAME is a relative path with one slash, as an id
        Path local = Path.of("target", "hub-local-" + ProcessHandle.current().pid());
        Files.createDirectories(local);
        try {
            String arg = local.toString();
            assertTrue(HubId.parse(arg).isPresent(), "shaped like an id");
            assertFalse(HubId.isHubId(arg));
            assertEquals(local, locator(env(deadEndpoint())).resolve(arg, Kind.MODEL));
            assertEquals(local, ModelLocator.locate(local, Kind.MODEL));
        } finally {
            Files.delete(local);
        }
    }

    @Test
    void locateLeavesPathsAndPresetsAlone() throws IOException {
        assertNull(ModelLocator.locate((Path) null, Kind.MODEL));
        assertEquals(Path.of("/no/such/dir"), ModelLocator.locate(Path.of("/no/such/dir"), Kind.MODEL), "for the command's own message");
        assertEquals("tiny", ModelLocator.locate("tiny", Kind.MODEL_CONFIG));
        assertEquals("./a/b", ModelLocator.locate("./a/b", Kind.MODEL_CONFIG));
    }

    @Test
    void anArgumentThatIsNeitherIsRefusedByResolve() throws IOException {
        HubException e = assertThrows(HubException.class, () -> locator(env(deadEndpoint())).resolve("no/such/dir", Kind.MODEL));
        assertTrue(e.getMessage().contains("neither an existing path nor a Hugging Face model id"), e.getMessage());
    }
}
