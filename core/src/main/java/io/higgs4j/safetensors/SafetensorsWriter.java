package io.higgs4j.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import io.higgs4j.io.TempSibling;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Writes .safetensors files and sharded checkpoints that the reference implementation (Python/Rust
 * {@code safetensors}) and Hugging Face loaders read.
 *
 * <p><b>Atomic.</b> Each file is written to a hidden temporary file in the target's directory, forced to disk, then
 * renamed over the target with an atomic move: a crash or an error leaves either the old file or the complete new
 * one, never a half-written one, and no temporary file is left behind on an error.
 *
 * <p><b>Layout.</b> The header lists the tensors in the map's iteration order (use a LinkedHashMap to choose it), and
 * {@link SafetensorsFile#names()} gives that order back. The data, like the reference writer's, is laid out by
 * element size, largest first (the map's order within one size), so every tensor starts at a multiple of its element
 * size; the header is padded with spaces to a multiple of 8 bytes, so the data starts 8-byte aligned. The data
 * leaves no gap, as the reference reader requires. (The reference also sorts the header by dtype and name; readers,
 * the reference included, order tensors by offset, so the header's order is free.)
 *
 * <p>Tensors may be of any supported dtype, on any device, with any strides: each is read as its row-major
 * contiguous CPU form, in chunks, without changing the tensor.
 */
public final class SafetensorsWriter {

    private SafetensorsWriter() {}

    /** Bytes copied from a tensor per write call. */
    private static final long CHUNK = 8L << 20;

    private static final Pattern SHARD_NAME = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");

    /** One tensor placed in a file. */
    private record Placed(String name, Tensor tensor, DType dtype, long[] shape, long bytes, long begin) {}

    /** A file's header and data layout, computed before anything is written. */
    private record Plan(Path target, byte[] header, List<Placed> dataOrder) {}

    /** Writes tensors with no metadata. */
    public static void write(Path file, Map<String, Tensor> tensors) {
        write(file, tensors, Map.of());
    }

    /**
     * Writes tensors (header in the map's order) and string metadata (may be null or empty: then the header has no
     * {@code __metadata__}) to file, atomically.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        Plan plan = plan(file, tensors, metadata);
        Path tmp = writeTemp(plan);
        try {
            commit(tmp, file);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    /**
     * Writes a sharded checkpoint into dir: {@code model-00001-of-0000n.safetensors} ... and
     * {@code model.safetensors.index.json}, whose {@code metadata.total_size} is the sum of the tensors' bytes and
     * whose {@code weight_map} lists the tensors in the map's order. Tensors fill shards in the map's order; a shard
     * is closed when the next tensor would take it past maxShardBytes (a tensor larger than that gets a shard of its
     * own). The metadata goes into every shard's {@code __metadata__}. Even one shard is written as
     * {@code model-00001-of-00001.safetensors} with an index.
     *
     * <p>Every shard and the index are first written to temporary files and forced to disk; only then are they renamed
     * into place, shards first and the index last, so an error or a crash while writing leaves any previous checkpoint
     * in dir as it was. (A crash during those few renames themselves can leave new shards beside an old index; the
     * set of files is not replaced as one.) Afterwards, files left in dir by an earlier save that the new index does not use
     * ({@code model.safetensors}, and {@code model-NNNNN-of-NNNNN.safetensors} not written now) are deleted, so that
     * loaders cannot pick them up.
     *
     * @return the index file
     */
    public static Path writeSharded(Path dir, Map<String, Tensor> tensors, long maxShardBytes, Map<String, String> metadata) {
        if (maxShardBytes <= 0) throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        Path index = dir.resolve(SafetensorsCheckpoint.INDEX_FILE);
        List<Map<String, Tensor>> shards = new ArrayList<>();
        Map<String, Tensor> current = new LinkedHashMap<>();
        long currentBytes = 0, total = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            long bytes = describeTensor(index, e.getKey(), e.getValue()).bytes;
            if (!current.isEmpty() && currentBytes + bytes > maxShardBytes) {
                shards.add(current);
                current = new LinkedHashMap<>();
                currentBytes = 0;
            }
            current.put(e.getKey(), e.getValue());
            currentBytes += bytes;
            total += bytes;
        }
        if (!current.isEmpty() || shards.isEmpty()) shards.add(current);

        int n = shards.size();
        List<Plan> plans = new ArrayList<>();
        ObjectNode weightMap = SafetensorsFile.JSON.createObjectNode();
        for (int i = 0; i < n; i++) {
            String shardName = String.format("model-%05d-of-%05d.safetensors", i + 1, n);
            plans.add(plan(dir.resolve(shardName), shards.get(i), metadata));
            for (String name : shards.get(i).keySet()) weightMap.put(name, shardName);   // shards follow the map's order
        }
        ObjectNode root = SafetensorsFile.JSON.createObjectNode();
        root.putObject("metadata").put("total_size", total);
        root.set("weight_map", weightMap);
        byte[] indexBytes;
        try {
            indexBytes = (SafetensorsFile.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n")
                    .getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(index, null, "cannot build the index JSON", e);
        }

        List<Path> temps = new ArrayList<>();
        List<Path> targets = new ArrayList<>();
        try {
            for (Plan p : plans) {
                temps.add(writeTemp(p));
                targets.add(p.target);
            }
            temps.add(writeTempBytes(index, indexBytes));
            targets.add(index);
            for (int i = 0; i < temps.size(); i++) {
                commit(temps.get(i), targets.get(i));
                temps.set(i, null);
            }
        } catch (RuntimeException e) {
            for (Path t : temps) if (t != null) deleteQuietly(t);
            throw e;
        }
        removeStaleShards(dir, targets);
        return index;
    }

    // =====================================================================================================

    private record Described(DType dtype, long[] shape, long bytes) {}

    private static Described describeTensor(Path file, String name, Tensor t) {
        if (name == null) throw new SafetensorsException(file, null, "a tensor name is null");
        if (name.equals(SafetensorsFile.METADATA_KEY)) {
            throw new SafetensorsException(file, name, "this name is reserved for the header's metadata");
        }
        if (t == null) throw new SafetensorsException(file, name, "the tensor is null");
        if (t.isClosed()) throw new SafetensorsException(file, name, "cannot write a closed tensor");
        try {
            DType dtype = t.dtype();
            long[] shape = t.shape();
            if (t.device().type() == Device.Type.META) {
                throw new SafetensorsException(file, name, "a meta tensor holds no data to write");
            }
            return new Described(dtype, shape, t.numel() * dtype.elementSize());
        } catch (IllegalStateException e) {
            throw new SafetensorsException(file, name, "cannot write it: " + e.getMessage(), e);
        }
    }

    private static Plan plan(Path target, Map<String, Tensor> tensors, Map<String, String> metadata) {
        List<Placed> headerOrder = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Described d = describeTensor(target, e.getKey(), e.getValue());
            headerOrder.add(new Placed(e.getKey(), e.getValue(), d.dtype, d.shape, d.bytes, -1));
        }
        List<Placed> dataOrder = new ArrayList<>(headerOrder);
        dataOrder.sort(Comparator.comparingInt((Placed p) -> p.dtype.elementSize()).reversed());   // stable
        Map<String, Placed> placed = new LinkedHashMap<>();
        long offset = 0;
        for (Placed p : dataOrder) {
            placed.put(p.name, new Placed(p.name, p.tensor, p.dtype, p.shape, p.bytes, offset));
            offset += p.bytes;
        }

        ObjectNode root = SafetensorsFile.JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = root.putObject(SafetensorsFile.METADATA_KEY);
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                if (e.getKey() == null || e.getValue() == null) {
                    throw new SafetensorsException(target, null, "metadata keys and values must not be null (key "
                            + e.getKey() + ")");
                }
                m.put(e.getKey(), e.getValue());
            }
        }
        for (Placed h : headerOrder) {
            Placed p = placed.get(h.name);
            ObjectNode entry = root.putObject(p.name);
            entry.put("dtype", StDType.code(p.dtype));
            ArrayNode shape = entry.putArray("shape");
            for (long d : p.shape) shape.add(d);
            entry.putArray("data_offsets").add(p.begin).add(p.begin + p.bytes);
        }
        byte[] json;
        try {
            json = SafetensorsFile.JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(target, null, "cannot build the header JSON", e);
        }
        int padded = (json.length + 7) / 8 * 8;
        if (padded > SafetensorsFile.MAX_HEADER_BYTES) {
            throw new SafetensorsException(target, null, "header would be " + padded + " bytes, over the "
                    + SafetensorsFile.MAX_HEADER_BYTES + "-byte limit readers accept");
        }
        byte[] header = Arrays.copyOf(json, padded);
        Arrays.fill(header, json.length, padded, (byte) ' ');
        return new Plan(target, header, List.copyOf(placed.values()));
    }

    /** Writes a plan to a temporary file beside its target, forced to disk; returns the temporary file. */
    private static Path writeTemp(Plan plan) {
        Path tmp = createTemp(plan.target);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, plan.header.length);
            writeFully(ch, len);
            writeFully(ch, ByteBuffer.wrap(plan.header));
            long maxBytes = 0;
            for (Placed p : plan.dataOrder) maxBytes = Math.max(maxBytes, p.bytes);
            try (Arena arena = Arena.ofConfined(); Scope scope = Scope.open(); var noGrad = Torch.noGrad()) {
                MemorySegment staging = arena.allocate(Math.max(1, Math.min(maxBytes, CHUNK)), 8);
                for (Placed p : plan.dataOrder) writeTensor(ch, p, staging, plan.target);
            }
            ch.force(true);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new SafetensorsException(plan.target, null, "cannot write: " + e, e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
        return tmp;
    }

    private static void writeTensor(FileChannel ch, Placed p, MemorySegment staging, Path target) throws IOException {
        if (p.bytes == 0) return;
        try {
            int elem = p.dtype.elementSize();
            long chunkElems = staging.byteSize() / elem;
            long numel = p.bytes / elem;
            if (numel <= chunkElems) {
                MemorySegment dst = staging.asSlice(0, p.bytes);
                p.tensor.copyTo(dst);
                writeFully(ch, dst.asByteBuffer());
                return;
            }
            try (Tensor flat = p.tensor.reshape(-1)) {
                for (long start = 0; start < numel; start += chunkElems) {
                    long end = Math.min(numel, start + chunkElems);
                    MemorySegment dst = staging.asSlice(0, (end - start) * elem);
                    try (Tensor part = flat.slice(0, start, end, 1)) {
                        part.copyTo(dst);
                    }
                    writeFully(ch, dst.asByteBuffer());
                }
            }
        } catch (IOException | SafetensorsException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new SafetensorsException(target, p.name, "cannot read the tensor's data: " + e.getMessage(), e);
        }
    }

    private static Path writeTempBytes(Path target, byte[] bytes) {
        Path tmp = createTemp(target);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, ByteBuffer.wrap(bytes));
            ch.force(true);
            return tmp;
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new SafetensorsException(target, null, "cannot write: " + e, e);
        }
    }

    /** A new hidden file beside target, with the user's usual permissions (see {@link TempSibling}). */
    private static Path createTemp(Path target) {
        try {
            return TempSibling.file(target);
        } catch (IOException e) {
            throw new SafetensorsException(target, null, "cannot create a temporary file beside it: " + e, e);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }

    /** Renames tmp over target atomically, then forces the directory entry to disk where the platform allows. */
    private static void commit(Path tmp, Path target) {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new SafetensorsException(target, null, "the file system cannot rename atomically; refusing a non-atomic"
                    + " write", e);
        } catch (IOException e) {
            throw new SafetensorsException(target, null, "cannot rename the temporary file into place: " + e, e);
        }
        Path dir = target.toAbsolutePath().getParent();
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // Not every platform can fsync a directory; the rename itself is still atomic.
        }
    }

    private static void removeStaleShards(Path dir, List<Path> written) {
        Set<Path> keep = new HashSet<>();
        for (Path p : written) keep.add(p.toAbsolutePath().normalize());
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                boolean ours = n.equals(SafetensorsCheckpoint.SINGLE_FILE) || SHARD_NAME.matcher(n).matches();
                if (ours && !keep.contains(p.toAbsolutePath().normalize())) Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new SafetensorsException(dir, null, "the checkpoint was written, but removing files of an earlier save"
                    + " failed: " + e, e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the original failure is what the caller needs to see
        }
    }
}
