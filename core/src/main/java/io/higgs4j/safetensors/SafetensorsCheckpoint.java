package io.higgs4j.safetensors;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import io.higgs4j.io.CheckpointReader;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * The weights of a model, in one .safetensors file or sharded over several with a
 * {@code model.safetensors.index.json}, behind one API: {@link #names()}, {@link #info}, {@link #load}.
 *
 * <p>{@link #open} accepts a .safetensors file, an index .json file, or a directory. A directory is opened the way
 * Hugging Face's loaders do: {@code model.safetensors} if it exists, else {@code model.safetensors.index.json}.
 *
 * <p>A sharded checkpoint is validated at open: every shard the index names exists and is itself valid, every tensor
 * the index lists is in the shard it names, no tensor is in two shards, and no shard holds a tensor the index does
 * not list. Any inconsistency throws a {@link SafetensorsException} naming the index, the shard and the tensor.
 */
public final class SafetensorsCheckpoint implements CheckpointReader {

    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path path;
    private final List<SafetensorsFile> files;        // shards by file name
    private final Map<String, SafetensorsFile> byName; // names in index (or file) order
    private final OptionalLong totalSize;

    private SafetensorsCheckpoint(Path path, List<SafetensorsFile> files, Map<String, SafetensorsFile> byName, OptionalLong totalSize) {
        this.path = path;
        this.files = files;
        this.byName = byName;
        this.totalSize = totalSize;
    }

    /** Opens a .safetensors file, an index .json file, or a directory holding either (see the class comment). */
    public static SafetensorsCheckpoint open(Path path) {
        if (Files.isDirectory(path)) {
            Path single = path.resolve(SINGLE_FILE);
            if (Files.exists(single)) return openSingle(single);
            Path index = path.resolve(INDEX_FILE);
            if (Files.exists(index)) return openIndex(index);
            throw new SafetensorsException(path, null, "directory holds neither " + SINGLE_FILE + " nor " + INDEX_FILE);
        }
        String fileName = path.getFileName() == null ? "" : path.getFileName().toString();
        return fileName.endsWith(".json") ? openIndex(path) : openSingle(path);
    }

    private static SafetensorsCheckpoint openSingle(Path file) {
        SafetensorsFile f = SafetensorsFile.open(file);
        Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
        for (String n : f.names()) byName.put(n, f);
        return new SafetensorsCheckpoint(file, List.of(f), byName, OptionalLong.empty());
    }

    private static SafetensorsCheckpoint openIndex(Path index) {
        JsonNode root;
        try {
            root = SafetensorsFile.JSON.readTree(Files.readString(index));
        } catch (NoSuchFileException e) {
            throw new SafetensorsException(index, null, "no such file", e);
        } catch (JacksonException e) {
            throw new SafetensorsException(index, null, "index is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new SafetensorsException(index, null, "cannot read the index: " + e, e);
        }
        if (root == null || !root.isObject()) throw new SafetensorsException(index, null, "index is not a JSON object");
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new SafetensorsException(index, null, "index has no \"weight_map\" object");
        }
        OptionalLong totalSize = OptionalLong.empty();
        JsonNode meta = root.get("metadata");
        if (meta != null && meta.isObject() && meta.has("total_size")) {
            JsonNode ts = meta.get("total_size");
            if (!ts.isIntegralNumber() || !ts.canConvertToLong() || ts.longValue() < 0) {
                throw new SafetensorsException(index, null, "metadata.total_size must be a non-negative integer, got " + ts);
            }
            totalSize = OptionalLong.of(ts.longValue());
        }

        Path dir = index.toAbsolutePath().normalize().getParent();
        Map<String, String> shardOf = new LinkedHashMap<>();        // tensor -> shard file name, index order
        Map<String, String> firstTensorOf = new TreeMap<>();        // shard file name -> a tensor it should hold
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            JsonNode v = e.getValue();
            if (!v.isTextual()) {
                throw new SafetensorsException(index, e.getKey(), "weight_map value must be a shard file name, got " + v);
            }
            String shard = v.textValue();
            Path p;
            try {
                p = dir.resolve(shard).normalize();
            } catch (InvalidPathException bad) {
                throw new SafetensorsException(index, e.getKey(), "shard '" + shard + "' is not a valid file name: " + bad.getReason());
            }
            if (Path.of(shard).isAbsolute() || !dir.equals(p.getParent())) {
                throw new SafetensorsException(index, e.getKey(), "shard '" + shard
                        + "' is not a file name in the index's directory");
            }
            shardOf.put(e.getKey(), shard);
            firstTensorOf.putIfAbsent(shard, e.getKey());
        }

        Map<String, SafetensorsFile> opened = new TreeMap<>();
        try {
            for (Map.Entry<String, String> s : firstTensorOf.entrySet()) {
                Path p = dir.resolve(s.getKey());
                if (!Files.exists(p)) {
                    throw new SafetensorsException(index, s.getValue(), "the index maps it to shard '" + s.getKey()
                            + "', which does not exist (" + p + ")");
                }
                opened.put(s.getKey(), SafetensorsFile.open(p));
            }
            // Where each tensor actually is, refusing a tensor in two shards.
            Map<String, String> foundIn = new HashMap<>();
            for (Map.Entry<String, SafetensorsFile> s : opened.entrySet()) {
                for (String n : s.getValue().names()) {
                    String other = foundIn.putIfAbsent(n, s.getKey());
                    if (other != null) {
                        throw new SafetensorsException(index, n, "appears in two shards, '" + other + "' and '"
                                + s.getKey() + "'");
                    }
                }
            }
            Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : shardOf.entrySet()) {
                String name = e.getKey(), shard = e.getValue();
                String actual = foundIn.get(name);
                if (!shard.equals(actual)) {
                    throw new SafetensorsException(index, name, "the index maps it to shard '" + shard
                            + "', but that shard has no such tensor" + (actual == null ? "" : " (it is in '" + actual + "')"));
                }
                byName.put(name, opened.get(shard));
            }
            for (Map.Entry<String, String> f : foundIn.entrySet()) {
                if (!shardOf.containsKey(f.getKey())) {
                    throw new SafetensorsException(index, f.getKey(), "is in shard '" + f.getValue()
                            + "' but the index does not list it");
                }
            }
            return new SafetensorsCheckpoint(index, List.copyOf(opened.values()), Collections.unmodifiableMap(byName), totalSize);
        } catch (RuntimeException e) {
            for (SafetensorsFile f : opened.values()) f.close();
            throw e;
        }
    }

    /** What was opened: the .safetensors file or the index. */
    public Path path() {
        return path;
    }

    /** The .safetensors files, in file-name order (one for an unsharded checkpoint). */
    public List<Path> files() {
        List<Path> out = new ArrayList<>();
        for (SafetensorsFile f : files) out.add(f.path());
        return out;
    }

    /** Tensor names in the index's order (or the file's header order, unsharded). */
    public List<String> names() {
        return List.copyOf(byName.keySet());
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** The file holding a tensor. */
    public Path fileOf(String name) {
        return file(name).path();
    }

    public TensorInfo info(String name) {
        return file(name).info(name);
    }

    /** {@code metadata.total_size} from the index, when the checkpoint is sharded and the index gives it. */
    public OptionalLong totalSize() {
        return totalSize;
    }

    /** Total bytes of tensor data, summed over the headers. */
    public long dataBytes() {
        long sum = 0;
        for (SafetensorsFile f : files) sum += f.dataBytes();
        return sum;
    }

    @Override
    public DType dtype(String name) {
        return file(name).dtype(name);
    }

    @Override
    public long[] shape(String name) {
        return file(name).shape(name);
    }

    /** See {@link SafetensorsFile#load(String)}. */
    public Tensor load(String name) {
        return file(name).load(name);
    }

    private SafetensorsFile file(String name) {
        SafetensorsFile f = byName.get(name);
        if (f == null) throw new SafetensorsException(path, name, "no such tensor in this checkpoint (it has " + byName.size() + ")");
        return f;
    }

    /** Unmaps every file. Tensors already loaded stay valid. */
    @Override
    public void close() {
        RuntimeException first = null;
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }

    @Override
    public String toString() {
        return "SafetensorsCheckpoint[" + path + ", " + byName.size() + " tensors in " + files.size() + " file(s)]";
    }
}
