package io.higgs4j.trainer.data;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.io.Npy;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Shared test data: the real-id tokenizer fixture, the released model's config, configs with other K, codes files. */
public final class Fixtures {

    private Fixtures() { }

    /** The tokenizer.json with the special tokens at their real ids (see {@link TokenizerFixtures}). */
    static Path tokenizerJson() {
        try {
            return Path.of(Fixtures.class.getResource("tokenizer.json").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The released checkpoint's metadata: core's test resources (core/src/test/resources/higgs-audio-v2-3b), found
     * from the module directory the tests run in, or HIGGS4J_FIXTURES/higgs-audio-v2-3b.
     */
    public static Path releasedModel() {
        String override = System.getenv("HIGGS4J_FIXTURES");
        if (override != null) return Path.of(override, "higgs-audio-v2-3b");
        String rel = "core/src/test/resources/higgs-audio-v2-3b";
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve(rel).resolve("config.json"))) return p.resolve(rel);
        }
        throw new IllegalStateException(rel + " not found above " + Path.of("").toAbsolutePath());
    }

    /** The released 3B config: 8 codebooks of 1024, BOS 1024, EOS 1025, token ids 128015/128016/128013/128012, pad 128001. */
    static HiggsAudioConfig realConfig() {
        try {
            return HiggsAudioConfig.fromFile(releasedModel().resolve("config.json"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** c with another number of codebooks and delay-pattern setting. */
    static HiggsAudioConfig withCodebooks(HiggsAudioConfig c, int k, boolean delay) {
        return new HiggsAudioConfig(c.textConfig(), c.audioAdapterType(), c.audioDualFfnLayers(), k, c.audioCodebookSize(),
                c.audioStreamBosId(), c.audioStreamEosId(), delay, c.encodeAudioInTokens(), c.encodeWhisperEmbed(), c.audioEmbedAvg(),
                c.audioFfnIntermediateSize(), c.audioInTokenIdx(), c.audioOutTokenIdx(), c.audioOutBosTokenId(), c.audioEosTokenId(),
                c.padTokenId());
    }

    /** K x T codes with code(k, t) = (base + 10k + t) mod 1024. */
    static long[][] codes(int k, int t, int base) {
        long[][] c = new long[k][t];
        for (int i = 0; i < k; i++) for (int j = 0; j < t; j++) c[i][j] = (base + 10L * i + j) % 1024;
        return c;
    }

    static Path npy(Path file, long[][] codes) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Npy.write(file, codes, "<i2");
        return file;
    }

    static Path write(Path file, String text) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, text, StandardCharsets.UTF_8);
        return file;
    }
}
