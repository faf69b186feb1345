package io.higgs4j.trainer.train;

import io.higgs4j.higgs.HiggsAudioWhisper;
import io.higgs4j.higgs.WhisperEncoder;
import io.higgs4j.safetensors.SafetensorsException;
import io.higgs4j.safetensors.SafetensorsFile;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The output of a frozen Whisper tower per clip ({@link HiggsAudioWhisper#towerOutput}: [tokens, d_model], before
 * the projection), so that a clip seen again (every epoch, every evaluation) skips the tower, which runs every layer
 * on a padded 30-second window whatever the clip's length.
 *
 * <p><b>Key.</b> A SHA-256 of the clip's features exactly as the tower gets them (bytes, dtype, shape), its number of
 * real frames and whether it is masked: a changed audio file gives other features, so another key, never a stale
 * entry. The disk tier adds the tower's identity: a folder named by a hash of its weights, dtype and device type.
 *
 * <p><b>Tiers.</b> In memory, CPU tensors up to a byte budget, the least recently used dropped first; then, when a
 * folder is given, one {@code <key>.safetensors} file per clip (safetensors because it stores bfloat16 as such),
 * written atomically and checked when read: a file that cannot be read, or whose dtype, shape or key differs from
 * what this clip needs, is recomputed and rewritten, never used. A folder that cannot be written is reported once
 * and the cache goes on in memory.
 *
 * <p>The tower must stay frozen while a cache is attached ({@link HiggsAudioWhisper#cache}): misses are computed
 * without gradients. The cache owns its tensors; {@link #get} hands out new handles in the caller's scope. One
 * training thread uses it; the methods are synchronized all the same.
 */
public final class WhisperTowerCache implements HiggsAudioWhisper.TowerCache, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WhisperTowerCache.class);
    /** The one tensor of a cache file. */
    static final String TENSOR = "audio_tower_output";

    private final long budgetBytes;
    private final long dModel;
    private final DType dtype;
    private Path dir;
    private final LinkedHashMap<String, Tensor> memory = new LinkedHashMap<>(16, 0.75f, true); // access order: LRU first
    private long bytes;
    private long memoryHits, diskHits, computed, rejectedFiles;
    private boolean closed;

    /** What the cache did so far. rejectedFiles: disk entries that failed their checks and were recomputed. */
    public record Stats(long memoryHits, long diskHits, long computed, long rejectedFiles, int entries, long bytes) {
        public String describe() {
            return String.format(java.util.Locale.ROOT, "%d clips from memory, %d from disk, %d computed%s; %d held in memory (%.1f MB)",
                    memoryHits, diskHits, computed, rejectedFiles > 0 ? " (" + rejectedFiles + " disk entries failed their checks)" : "",
                    entries, bytes / 1e6);
        }
    }

    /**
     * A cache for tower's output: up to budgetBytes in memory (0: none), and under root (null: no disk tier) in a
     * folder of this tower's own. The tower's weights are hashed once here when root is given.
     */
    public WhisperTowerCache(WhisperEncoder tower, long budgetBytes, Path root) {
        if (budgetBytes < 0) throw new IllegalArgumentException("the Whisper cache's memory budget must be >= 0 bytes, got " + budgetBytes);
        this.budgetBytes = budgetBytes;
        this.dModel = tower.config.dModel();
        this.dtype = tower.conv1.weight().dtype();
        if (root != null) {
            dir = root.resolve(towerId(tower));
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new IllegalArgumentException("Whisper cache folder " + dir + " cannot be created: " + e.getMessage(), e);
            }
        }
    }

    /** This tower's folder of cache files, or null without a disk tier. */
    public synchronized Path dir() {
        return dir;
    }

    public synchronized Stats stats() {
        return new Stats(memoryHits, diskHits, computed, rejectedFiles, memory.size(), bytes);
    }

    /**
     * The tower output of one clip (features [1, mels, T] as the tower gets them, frames real frames, masked when the
     * batch has a feature mask) on the features' device, in the caller's scope: from memory, from disk, or from
     * compute (which must give [tokens, d_model] of this cache's dtype) and then kept.
     */
    @Override
    public synchronized Tensor get(Tensor features, long frames, boolean masked, Supplier<Tensor> compute) {
        if (closed) throw new IllegalStateException("the Whisper cache is closed");
        String key = key(features, frames, masked);
        Device device = features.device();
        Tensor hit = memory.get(key);
        if (hit != null) {
            memoryHits++;
            return hit.to(device);
        }
        long[] shape = {HiggsAudioWhisper.clipTokens(frames, features.size(2)), dModel};
        Tensor value = dir == null ? null : read(key, shape);
        if (value != null) {
            diskHits++;
        } else {
            value = computeOnCpu(compute, shape);
            computed++;
            if (dir != null) write(key, value);
        }
        Tensor out = value.to(device);
        keep(key, value);
        return out;
    }

    /** compute's result as a CPU tensor owned here, holding exactly its own elements. */
    private Tensor computeOnCpu(Supplier<Tensor> compute, long[] shape) {
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            Tensor t = compute.get();
            if (!Arrays.equals(t.shape(), shape) || t.dtype() != dtype) {
                throw new IllegalStateException("the Whisper tower gave " + t + " for a clip; the cache expects " + Arrays.toString(shape) + " " + dtype);
            }
            // clone: a narrowed view would keep the whole padded window alive (and out of the byte count)
            return Scope.disown(t.to(Device.CPU).clone());
        }
    }

    /** Holds value in memory when it fits the budget, dropping the least recently used; otherwise frees it. */
    private void keep(String key, Tensor value) {
        long size = value.numel() * value.dtype().elementSize();
        if (size > budgetBytes) {
            value.close();
            return;
        }
        memory.put(key, value);
        bytes += size;
        Iterator<Map.Entry<String, Tensor>> it = memory.entrySet().iterator();
        while (bytes > budgetBytes && it.hasNext()) {
            Tensor old = it.next().getValue();
            bytes -= old.numel() * old.dtype().elementSize();
            old.close();
            it.remove();
        }
    }

    /** Whether a clip's entry is in memory now (without counting as a use). */
    public synchronized boolean inMemory(Tensor features, long frames, boolean masked) {
        return memory.containsKey(key(features, frames, masked));
    }

    /** The disk entry of a clip (whether or not it exists), or null without a disk tier. */
    public synchronized Path file(Tensor features, long frames, boolean masked) {
        return dir == null ? null : dir.resolve(key(features, frames, masked) + ".safetensors");
    }

    // ---- disk ----

    private Tensor read(String key, long[] shape) {
        Path file = dir.resolve(key + ".safetensors");
        if (!Files.isRegularFile(file)) return null;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            String why = !f.contains(TENSOR) ? "no " + TENSOR
                    : f.dtype(TENSOR) != dtype ? "dtype " + f.dtype(TENSOR) + ", expected " + dtype
                    : !Arrays.equals(f.shape(TENSOR), shape) ? "shape " + Arrays.toString(f.shape(TENSOR)) + ", expected " + Arrays.toString(shape)
                    : !key.equals(f.metadata().get("key")) ? "it was written for key " + f.metadata().get("key")
                    : null;
            if (why == null) return Scope.disown(f.load(TENSOR));
            reject(file + ": " + why);
        } catch (SafetensorsException e) {
            reject(e.getMessage()); // names the file
        }
        return null;
    }

    private void reject(String why) {
        rejectedFiles++;
        LOG.warn("Whisper cache: {}; recomputing it", why);
    }

    private void write(String key, Tensor value) {
        try {
            SafetensorsWriter.write(dir.resolve(key + ".safetensors"), Map.of(TENSOR, value), Map.of("key", key));
        } catch (RuntimeException e) {
            // The cache only saves time: a full or read-only disk must not stop training.
            LOG.warn("Whisper cache: cannot write into {} ({}); caching in memory only from now on", dir, e.getMessage());
            dir = null;
        }
    }

    // ---- keys ----

    /** 32 hex digits of SHA-256 over the features' dtype, shape and bytes, the real frames and the mask flag. */
    static String key(Tensor features, long frames, boolean masked) {
        MessageDigest md = sha256();
        md.update((features.dtype() + Arrays.toString(features.shape()) + "|frames=" + frames + "|masked=" + masked).getBytes(StandardCharsets.UTF_8));
        md.update(bytes(features));
        return HexFormat.of().formatHex(md.digest(), 0, 16);
    }

    /** The tower's identity: a hash of its parameters (names, dtypes, shapes, bytes) and its device type. */
    static String towerId(WhisperEncoder tower) {
        MessageDigest md = sha256();
        Map<String, Tensor> params = new TreeMap<>(tower.namedParameters());
        md.update(("device=" + tower.conv1.weight().device().type()).getBytes(StandardCharsets.UTF_8));
        params.forEach((name, p) -> {
            md.update((name + "|" + p.dtype() + Arrays.toString(p.shape())).getBytes(StandardCharsets.UTF_8));
            md.update(bytes(p));
        });
        return "tower-" + HexFormat.of().formatHex(md.digest(), 0, 8);
    }

    private static byte[] bytes(Tensor t) {
        long n = t.numel() * t.dtype().elementSize();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("tensor too large to hash at once: " + t);
        byte[] b = new byte[(int) n];
        t.copyTo(MemorySegment.ofArray(b));
        return b;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    /** Frees every tensor held in memory; files stay. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        memory.values().forEach(Tensor::close);
        memory.clear();
        bytes = 0;
    }
}
