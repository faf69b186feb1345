package io.higgs4j.trainer.hub;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What the environment says about the Hub, read as huggingface_hub reads it, so that Python tools and higgs4j share
 * one cache and one login:
 * <ul>
 * <li>cache: {@code $HF_HUB_CACHE}, else {@code $HUGGINGFACE_HUB_CACHE}, else {@code $HF_HOME/hub}; {@code HF_HOME}
 *     defaults to {@code $XDG_CACHE_HOME/huggingface}, that to {@code ~/.cache/huggingface};</li>
 * <li>endpoint: {@code $HF_ENDPOINT}, else {@code https://huggingface.co};</li>
 * <li>token: {@code $HF_TOKEN}, else {@code $HUGGING_FACE_HUB_TOKEN}, else the file {@code huggingface-cli login}
 *     writes ({@code $HF_TOKEN_PATH}, else {@code $HF_HOME/token});</li>
 * <li>offline: {@code $HF_HUB_OFFLINE} (or {@code $TRANSFORMERS_OFFLINE}) is 1, true, yes or on.</li>
 * </ul>
 *
 * @param tokenSource where the token came from (for messages), null without a token
 */
public record HubSettings(Path cacheDir, URI endpoint, String token, String tokenSource, boolean offline) {

    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    private static final Set<String> TRUE = Set.of("1", "on", "yes", "true");

    /** The settings of this environment; HOME, when the map lacks it, is the JVM's user.home. */
    public static HubSettings from(Map<String, String> env) {
        String home = nonBlank(env.get("HOME")) != null ? env.get("HOME") : System.getProperty("user.home");
        Path hfHome = nonBlank(env.get("HF_HOME")) != null ? expand(env.get("HF_HOME"), home)
                : (nonBlank(env.get("XDG_CACHE_HOME")) != null ? expand(env.get("XDG_CACHE_HOME"), home)
                        : Path.of(home, ".cache")).resolve("huggingface");
        Path cache = nonBlank(env.get("HF_HUB_CACHE")) != null ? expand(env.get("HF_HUB_CACHE"), home)
                : nonBlank(env.get("HUGGINGFACE_HUB_CACHE")) != null ? expand(env.get("HUGGINGFACE_HUB_CACHE"), home)
                : hfHome.resolve("hub");
        String endpoint = nonBlank(env.get("HF_ENDPOINT")) != null ? env.get("HF_ENDPOINT").strip() : DEFAULT_ENDPOINT;
        while (endpoint.endsWith("/")) endpoint = endpoint.substring(0, endpoint.length() - 1);
        String token = nonBlank(env.get("HF_TOKEN")), source = "HF_TOKEN";
        if (token == null) {
            token = nonBlank(env.get("HUGGING_FACE_HUB_TOKEN"));
            source = "HUGGING_FACE_HUB_TOKEN";
        }
        if (token == null) {
            Path file = nonBlank(env.get("HF_TOKEN_PATH")) != null ? expand(env.get("HF_TOKEN_PATH"), home) : hfHome.resolve("token");
            token = readToken(file);
            source = "the token file " + file;
        }
        boolean offline = isTrue(env.get("HF_HUB_OFFLINE")) || isTrue(env.get("TRANSFORMERS_OFFLINE"));
        URI uri;
        try {
            uri = URI.create(endpoint);
        } catch (IllegalArgumentException e) {
            uri = null;
        }
        if (uri == null || uri.getHost() == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
            throw new IllegalArgumentException("HF_ENDPOINT=" + endpoint + " is not an http(s) URL such as " + DEFAULT_ENDPOINT);
        }
        return new HubSettings(cache, uri, token, token == null ? null : source, offline);
    }

    private static String readToken(Path file) {
        try {
            return Files.isRegularFile(file) ? nonBlank(Files.readString(file)) : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static boolean isTrue(String v) {
        return v != null && TRUE.contains(v.strip().toLowerCase(Locale.ROOT));
    }

    private static String nonBlank(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    private static Path expand(String p, String home) {
        p = p.strip();
        if (p.equals("~")) return Path.of(home);
        if (p.startsWith("~/")) return Path.of(home, p.substring(2));
        return Path.of(p);
    }

    /** For messages: the cache named by where it came from. */
    @Override
    public String toString() {
        return "cache " + cacheDir + ", endpoint " + endpoint + (offline ? ", offline" : "") + (token != null ? ", token from " + tokenSource : "");
    }
}
