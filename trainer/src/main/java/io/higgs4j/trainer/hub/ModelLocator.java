package io.higgs4j.trainer.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.Closeable;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Turns a command-line model argument into a local directory. A path that exists is used as it is; otherwise a Hugging
 * Face id ({@code owner/name[@revision]}) is looked up in the cache that Python tools share (see {@link HubSettings})
 * and, when the snapshot there lacks what the command needs, the needed files (see {@link Kind}) are downloaded into
 * it, as huggingface_hub would. With {@code HF_HUB_OFFLINE=1} a miss is an error and nothing goes to the network.
 */
public final class ModelLocator {

    public static final String CONFIG = "config.json";
    public static final String SINGLE_WEIGHTS = "model.safetensors";
    public static final String WEIGHTS_INDEX = "model.safetensors.index.json";
    public static final String TORCH_WEIGHTS = "model.pth";

    /** What a command needs of a model repository, and so which of its files are downloaded. */
    public enum Kind {
        /** A Higgs Audio model: config, weights, text tokenizer and generation files. */
        MODEL("model", List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json")),
        /** Only what describes a Higgs Audio model: config and text tokenizer, not the weights (validate-data, params). */
        MODEL_CONFIG("model configuration", List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json")),
        /** The audio tokenizer: config and model.safetensors, else model.pth. */
        AUDIO_TOKENIZER("audio tokenizer", List.of()),
        /** A Whisper checkpoint: config, weights and the feature extractor's settings. */
        WHISPER("Whisper model", List.of("preprocessor_config.json"));

        private final String description;
        private final List<String> extras;

        Kind(String description, List<String> extras) {
            this.description = description;
            this.extras = extras;
        }

        public String description() {
            return description;
        }

        boolean needsWeights() {
            return this == MODEL || this == WHISPER;
        }

        /**
         * The files to download first, of those the revision lists: config.json, the listed extras, and the weights
         * (model.safetensors, else the index, whose shards follow once it is read); refused when a needed one is not listed.
         */
        List<String> select(HubId id, Set<String> listed) throws HubException {
            List<String> files = new ArrayList<>();
            List<String> lacking = new ArrayList<>();
            if (listed.contains(CONFIG)) files.add(CONFIG);
            else lacking.add(CONFIG);
            for (String e : extras) if (listed.contains(e)) files.add(e);
            if (needsWeights()) {
                if (listed.contains(SINGLE_WEIGHTS)) files.add(SINGLE_WEIGHTS);
                else if (listed.contains(WEIGHTS_INDEX)) files.add(WEIGHTS_INDEX);
                else lacking.add(SINGLE_WEIGHTS + " or " + WEIGHTS_INDEX);
            } else if (this == AUDIO_TOKENIZER) {
                if (listed.contains(SINGLE_WEIGHTS)) files.add(SINGLE_WEIGHTS);
                else if (listed.contains(TORCH_WEIGHTS)) files.add(TORCH_WEIGHTS);
                else lacking.add(SINGLE_WEIGHTS + " or " + TORCH_WEIGHTS);
            }
            if (!lacking.isEmpty()) {
                throw new HubException(id + " has no " + String.join(", no ", lacking) + " (it lists " + preview(listed)
                        + "): is it a " + description + " repository?");
            }
            return files;
        }

        /** What a cached snapshot lacks for a command of this kind; empty when it can be used as it is. */
        List<String> missing(Path snapshot) throws IOException {
            List<String> missing = new ArrayList<>();
            if (!Files.isRegularFile(snapshot.resolve(CONFIG))) missing.add(CONFIG);
            if (needsWeights()) {
                if (!Files.isRegularFile(snapshot.resolve(SINGLE_WEIGHTS))) {
                    Path index = snapshot.resolve(WEIGHTS_INDEX);
                    if (!Files.isRegularFile(index)) {
                        missing.add(SINGLE_WEIGHTS + " or " + WEIGHTS_INDEX);
                    } else {
                        for (String shard : shards(index)) if (!Files.isRegularFile(snapshot.resolve(shard))) missing.add(shard);
                    }
                }
            } else if (this == AUDIO_TOKENIZER && !Files.isRegularFile(snapshot.resolve(SINGLE_WEIGHTS))
                    && !Files.isRegularFile(snapshot.resolve(TORCH_WEIGHTS))) {
                missing.add(SINGLE_WEIGHTS + " or " + TORCH_WEIGHTS);
            }
            return missing;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HubSettings settings;
    private final HubCache cache;
    private final PrintStream log;
    private final DownloadProgress progress;
    private final HubClient.Tuning tuning;
    private HubClient client;

    /** A locator reading the Hub settings from env (never the process's own environment unless given it). */
    public ModelLocator(Map<String, String> env, PrintStream log) {
        this(env, log, DownloadProgress.stderr(log), HubClient.Tuning.DEFAULT);
    }

    ModelLocator(Map<String, String> env, PrintStream log, DownloadProgress progress, HubClient.Tuning tuning) {
        this.settings = HubSettings.from(env);
        this.cache = new HubCache(settings.cacheDir());
        this.log = log;
        this.progress = progress;
        this.tuning = tuning;
    }

    /** The process's environment, messages and progress on stderr. */
    public static ModelLocator fromEnvironment() {
        return new ModelLocator(System.getenv(), System.err);
    }

    public HubSettings settings() {
        return settings;
    }

    /**
     * A command-line option's value as a local path: unchanged when it is not a Hub id (null, an existing path, or
     * something for the command's own checks to refuse), else the id's snapshot directory in the cache.
     */
    public static Path locate(Path option, Kind kind) throws IOException {
        return option == null || !HubId.isHubId(option.toString()) ? option : fromEnvironment().resolve(option.toString(), kind);
    }

    /** As {@link #locate(Path, Kind)}, for an option that also takes other words (a preset name): a path as text. */
    public static String locate(String option, Kind kind) throws IOException {
        return option == null || !HubId.isHubId(option) ? option : fromEnvironment().resolve(option, kind).toString();
    }

    /**
     * The local directory (or file) for pathOrId: an existing path as it is, else the Hub id's snapshot in the cache,
     * downloaded first when it lacks files of kind.
     */
    public Path resolve(String pathOrId, Kind kind) throws IOException {
        if (HubId.existsLocally(pathOrId)) return Path.of(pathOrId);
        HubId id = HubId.parse(pathOrId).orElseThrow(() -> new HubException("'" + pathOrId + "' is neither an existing path nor a Hugging "
                + "Face model id (owner/name, optionally @revision)"));
        Optional<String> commit = cache.commit(id);
        List<String> missing = List.of();
        if (commit.isPresent()) {
            Path snapshot = cache.snapshotDir(id, commit.get());
            missing = kind.missing(snapshot);
            if (missing.isEmpty()) return snapshot;
        }
        if (settings.offline()) {
            throw new HubException(id + " (" + kind.description() + ") is not in the Hugging Face cache " + settings.cacheDir()
                    + (commit.isPresent() ? " as a whole (its snapshot " + commit.get().substring(0, 7) + " lacks " + String.join(", ", missing) + ")" : "")
                    + " and HF_HUB_OFFLINE=1 forbids downloading it: run `huggingface-cli download " + id.repo()
                    + (id.revision().equals(HubId.DEFAULT_REVISION) ? "" : " --revision " + id.revision())
                    + "` on a machine with network and copy the cache here (or point HF_HUB_CACHE at it), unset HF_HUB_OFFLINE, "
                    + "or give a local directory");
        }
        return download(id, kind);
    }

    private Path download(HubId id, Kind kind) throws IOException {
        if (client == null) client = new HubClient(settings, tuning, progress);
        HubClient.RepoInfo info = client.repoInfo(id);
        Map<String, HubClient.RepoFile> byName = new java.util.LinkedHashMap<>();
        for (HubClient.RepoFile f : info.files()) byName.put(f.name(), f);
        List<String> files = kind.select(id, byName.keySet());
        Path snapshot = cache.snapshotDir(id, info.commit());
        log.printf(Locale.ROOT, "higgs4j: %s (%s) at commit %s into %s%n", id, kind.description(), info.commit().substring(0, 7), cache.repoDir(id));
        for (String f : files) fetch(id, info.commit(), byName.get(f), snapshot);
        if (files.contains(WEIGHTS_INDEX)) {
            List<String> shards = shards(snapshot.resolve(WEIGHTS_INDEX));
            List<String> unlisted = shards.stream().filter(s -> !byName.containsKey(s)).toList();
            if (!unlisted.isEmpty()) {
                throw new HubException(id + ": " + WEIGHTS_INDEX + " names " + String.join(", ", unlisted) + ", which the repository does not have");
            }
            for (String s : shards) fetch(id, info.commit(), byName.get(s), snapshot);
        }
        List<String> missing = kind.missing(snapshot);
        if (!missing.isEmpty()) throw new HubException(id + ": after the download the snapshot " + snapshot + " still lacks " + String.join(", ", missing));
        cache.writeRef(id, info.commit());
        return snapshot;
    }

    /** One file into the snapshot: already there, or its blob already there, or downloaded (under the blob's lock). */
    private void fetch(HubId id, String commit, HubClient.RepoFile file, Path snapshot) throws IOException {
        Path entry = snapshot.resolve(file.name()).normalize();
        if (!entry.startsWith(snapshot)) throw new HubException(id + ": the Hub lists a file outside the repository: " + file.name());
        if (present(entry, file.size())) return;
        String blobName = file.blobName() != null ? file.blobName() : client.etag(id, commit, file.name());
        Path blob = cache.blob(id, blobName);
        try (Closeable lock = cache.lock(id, blobName, () -> progress.interrupt("  " + file.name() + ": waiting for another process downloading it"))) {
            if (!present(blob, file.size())) {
                Files.createDirectories(blob.getParent());
                Path incomplete = HubCache.incomplete(blob);
                client.download(id, commit, file, incomplete);
                Files.move(incomplete, blob, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        cache.link(entry, blob);
    }

    private static boolean present(Path p, long size) throws IOException {
        return Files.isRegularFile(p) && (size < 0 || Files.size(p) == size);
    }

    /** The shard files a safetensors index names (its weight_map's values), in order, each once. */
    static List<String> shards(Path index) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(index.toFile());
        } catch (IOException e) {
            throw new HubException(index + " is not valid JSON: " + io.higgs4j.json.JsonFields.syntaxError(e), e);
        }
        Set<String> shards = new LinkedHashSet<>();
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) throw new HubException(index + " has no weight_map");
        map.properties().forEach(e -> shards.add(e.getValue().asText()));
        for (String s : shards) {
            if (s.isEmpty() || s.contains("/") || s.contains("\\") || s.startsWith(".")) throw new HubException(index + " names an odd shard: " + s);
        }
        return List.copyOf(shards);
    }

    private static String preview(Set<String> listed) {
        Set<String> sorted = new TreeSet<>(listed);
        List<String> first = sorted.stream().limit(8).toList();
        return first.isEmpty() ? "no files" : String.join(", ", first) + (sorted.size() > first.size() ? ", ..." : "");
    }
}
