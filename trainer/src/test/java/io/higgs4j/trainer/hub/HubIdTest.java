package io.higgs4j.trainer.hub;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

/** Telling Hub ids from paths, the cache's folder names, and the environment's settings. */
class HubIdTest {

    @Test
    void idsAndRevisions() {
        HubId id = HubId.parse("bosonai/higgs-audio-v2-generation-3B-base").orElseThrow();
        assertEquals("bosonai", id.owner());
        assertEquals("higgs-audio-v2-generation-3B-base", id.name());
        assertEquals("main", id.revision());
        assertEquals("models--bosonai--higgs-audio-v2-generation-3B-base", id.cacheFolder());
        assertEquals("bosonai/higgs-audio-v2-generation-3B-base", id.toString());
        assertFalse(id.isCommit());

        HubId tagged = HubId.parse("openai/whisper-large-v3@v1.0").orElseThrow();
        assertEquals("v1.0", tagged.revision());
        assertEquals("openai/whisper-large-v3@v1.0", tagged.toString());
        assertEquals("refs/pr/12", HubId.parse("a/b@refs/pr/12").orElseThrow().revision());
        assertTrue(HubId.parse("a/b@0123456789abcdef0123456789abcdef01234567").orElseThrow().isCommit());
        assertFalse(HubId.parse("a/b@0123456789ABCDEF0123456789ABCDEF01234567").orElseThrow().isCommit(), "hashes are lower case");
        assertTrue(HubId.parse("user_1/model.v2_final").isPresent());
    }

    @Test
    void pathsAndOddTextAreNotIds() {
        for (String s : new String[] {"tiny", "model", "./a/b", "../a/b", "/a/b", "~/a", "~user/b", "a/b/c", "a/", "/a", "a/b@", "a/b@x/../y",
                "a/b@..", "a/b@a b", "a--b/c", "a/b..c", ".a/b", "a/.b", "a/b.", "-a/b", "a/b-", "a b/c", "a/b@x@y", "C:\\a\\b", "",
                "a/" + "x".repeat(100)}) {
            assertEquals(Optional.empty(), HubId.parse(s), s);
            assertFalse(HubId.isHubId(s), s);
        }
        assertFalse(HubId.isHubId(null));
    }

    @Test
    void snapshotsKnowTheirRepository() {
        Path snap = Path.of("/c/hub/models--bosonai--higgs-audio-v2-tokenizer/snapshots/0123456789abcdef0123456789abcdef01234567");
        assertEquals(Optional.of("bosonai/higgs-audio-v2-tokenizer"), HubCache.repoOf(snap));
        assertEquals(Optional.empty(), HubCache.repoOf(Path.of("/models/higgs")));
        assertEquals(Optional.empty(), HubCache.repoOf(snap.resolve("config.json")));
        assertEquals(Optional.empty(), HubCache.repoOf(null));
    }

    @Test
    void theCacheAndTheEndpointAsHuggingFaceHubFindsThem() {
        assertEquals(Path.of("/h/.cache/huggingface/hub"), HubSettings.from(Map.of("HOME", "/h")).cacheDir());
        assertEquals(Path.of("/x/huggingface/hub"), HubSettings.from(Map.of("HOME", "/h", "XDG_CACHE_HOME", "/x")).cacheDir());
        assertEquals(Path.of("/hf/hub"), HubSettings.from(Map.of("HOME", "/h", "XDG_CACHE_HOME", "/x", "HF_HOME", "/hf")).cacheDir());
        assertEquals(Path.of("/h/c"), HubSettings.from(Map.of("HOME", "/h", "HF_HOME", "/hf", "HF_HUB_CACHE", "~/c")).cacheDir());
        assertEquals(Path.of("/old"), HubSettings.from(Map.of("HOME", "/h", "HUGGINGFACE_HUB_CACHE", "/old")).cacheDir());
        HubSettings s = HubSettings.from(Map.of("HOME", "/h"));
        assertEquals("https://huggingface.co", s.endpoint().toString());
        assertFalse(s.offline());
        assertNull(s.token());
        assertEquals("http://mirror:8080", HubSettings.from(Map.of("HOME", "/h", "HF_ENDPOINT", "http://mirror:8080/")).endpoint().toString());
        for (String yes : new String[] {"1", "true", "YES", "on"}) assertTrue(HubSettings.from(Map.of("HOME", "/h", "HF_HUB_OFFLINE", yes)).offline(), yes);
        for (String no : new String[] {"0", "false", ""}) assertFalse(HubSettings.from(Map.of("HOME", "/h", "HF_HUB_OFFLINE", no)).offline(), no);
        assertTrue(HubSettings.from(Map.of("HOME", "/h", "TRANSFORMERS_OFFLINE", "1")).offline());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HubSettings.from(Map.of("HOME", "/h", "HF_ENDPOINT", "huggingface.co")));
        assertTrue(e.getMessage().contains("HF_ENDPOINT=huggingface.co is not an http(s) URL"), e.getMessage());
    }
}
