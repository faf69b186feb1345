package io.higgs4j.safetensors;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.higgs4j.io.CheckpointReader;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One .safetensors file, memory-mapped for as long as it is open. The header is parsed and fully validated when the
 * file is opened (lengths, JSON, dtypes, shapes, offsets within the data and not overlapping, byte counts matching
 * shapes, metadata strings only), so a malformed file fails at {@link #open} with a {@link SafetensorsException}
 * naming the file and the tensor at fault, never later and never with a crash.
 *
 * <p>{@link #load} copies one tensor's bytes from the mapping straight into a new CPU tensor's memory: one copy, no
 * intermediate Java array. Only the pages of the tensors loaded are read from disk.
 *
 * <p><b>Why there is no zero-copy view.</b> A tensor viewing the mapping would be a libtorch tensor over memory that
 * {@link #close()} unmaps; libtorch knows nothing of the mapping's lifetime, so a view that outlived the file (kept
 * in a module, captured by autograd) would read unmapped memory and crash the JVM. Mapping into
 * {@code Arena.global()} instead (never unmapped) would not make it safe either: the mapping is read-only, so any
 * in-place op on the view would fault, and a file truncated on disk by another process makes libtorch's native reads
 * fault too, where Java cannot catch it. The copy costs one memcpy per tensor, far less than the disk read.
 *
 * <p>Thread-safe: any number of threads may load from one open file. Data is little-endian; higgs4j runs only on
 * little-endian machines (x86-64, aarch64), which this class checks.
 */
public final class SafetensorsFile implements CheckpointReader {

    /** The largest header accepted, as in the reference implementation (100 MB). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** Reserved header key holding the string-to-string metadata. */
    static final String METADATA_KEY = "__metadata__";

    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** One tensor's header entry; offsets are relative to the start of the data. */
    record Entry(String name, DType dtype, long[] shape, long begin, long end) {
        long byteSize() {
            return end - begin;
        }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, Entry> entries;     // header order
    private final Map<String, String> metadata;
    private volatile boolean closed;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Opens, maps and validates a .safetensors file. */
    public static SafetensorsFile open(Path path) {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new SafetensorsException(path, null, "safetensors data is little-endian; this machine is big-endian");
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new SafetensorsException(path, null, "file is " + size + " bytes, shorter than the 8-byte header length"
                        + " field: truncated or not a safetensors file");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, path);
            long n = lenBuf.getLong(0);
            if (n < 0 || n > MAX_HEADER_BYTES) {
                throw new SafetensorsException(path, null, "header length " + Long.toUnsignedString(n) + " exceeds the limit of "
                        + MAX_HEADER_BYTES + " bytes: corrupt or not a safetensors file");
            }
            if (8 + n > size) {
                throw new SafetensorsException(path, null, "header length " + n + " runs past the end of the file (" + size
                        + " bytes): truncated in the header, or not a safetensors file");
            }
            ByteBuffer headerBuf = ByteBuffer.allocate((int) n);
            readFully(ch, headerBuf, 8, path);
            long dataSize = size - 8 - n;
            Header header = parseHeader(path, headerBuf.flip(), dataSize);

            Arena arena = Arena.ofShared();
            try {
                MemorySegment data = dataSize == 0 ? MemorySegment.ofArray(new byte[0])
                        : ch.map(FileChannel.MapMode.READ_ONLY, 8 + n, dataSize, arena);
                return new SafetensorsFile(path, arena, data, header.entries, header.metadata);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        } catch (NoSuchFileException e) {
            throw new SafetensorsException(path, null, "no such file", e);
        } catch (IOException e) {
            throw new SafetensorsException(path, null, "cannot read: " + e, e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path path) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) throw new SafetensorsException(path, null, "file ended while reading its header (changed on disk?)");
            pos += r;
        }
    }

    private record Header(Map<String, Entry> entries, Map<String, String> metadata) {}

    /** Parses and validates a header against a data section of dataSize bytes. */
    static Header parseHeader(Path path, ByteBuffer headerBytes, long dataSize) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(headerBytes).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(path, null, "header is not valid UTF-8", e);
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JacksonException e) {
            throw new SafetensorsException(path, null, "header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsException(path, null, text.isBlank() ? "header is empty (only spaces)"
                    : "header is not a JSON object (starts with " + abbreviate(text.strip()) + ")");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = Map.of();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String name = field.getKey();
            JsonNode node = field.getValue();
            if (name.equals(METADATA_KEY)) {
                metadata = parseMetadata(path, node);
            } else {
                entries.put(name, parseEntry(path, name, node, dataSize));
            }
        }
        checkNoOverlap(path, entries.values());
        return new Header(Collections.unmodifiableMap(entries), metadata);
    }

    private static Map<String, String> parseMetadata(Path path, JsonNode node) {
        if (node.isNull()) return Map.of();
        if (!node.isObject()) {
            throw new SafetensorsException(path, null, METADATA_KEY + " must be an object of strings, got " + kind(node));
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(path, null, METADATA_KEY + " value of key '" + e.getKey()
                        + "' must be a string, got " + kind(e.getValue())
                        + (e.getValue().isNull() ? "" : " " + abbreviate(e.getValue().toString())));
            }
            m.put(e.getKey(), e.getValue().textValue());
        }
        return Collections.unmodifiableMap(m);
    }

    private static Entry parseEntry(Path path, String name, JsonNode node, long dataSize) {
        if (!node.isObject()) {
            throw new SafetensorsException(path, name, "header entry must be an object with dtype, shape and data_offsets,"
                    + " got " + kind(node));
        }
        JsonNode dt = node.get("dtype");
        if (dt == null || !dt.isTextual()) {
            throw new SafetensorsException(path, name, "\"dtype\" must be a string, got " + kind(dt));
        }
        DType dtype = StDType.parse(dt.textValue());
        if (dtype == null) throw new SafetensorsException(path, name, StDType.unsupportedMessage(dt.textValue()));

        long[] shape = longArray(path, name, "shape", node.get("shape"));
        long numel = 1;
        for (long d : shape) {
            if (d < 0) throw new SafetensorsException(path, name, "negative dimension in shape " + Arrays.toString(shape));
        }
        long bytes;
        try {
            for (long d : shape) numel = Math.multiplyExact(numel, d);
            bytes = Math.multiplyExact(numel, (long) dtype.elementSize());
        } catch (ArithmeticException e) {
            throw new SafetensorsException(path, name, "shape " + Arrays.toString(shape) + " of " + dt.textValue()
                    + " overflows a 64-bit byte count");
        }

        long[] offsets = longArray(path, name, "data_offsets", node.get("data_offsets"));
        if (offsets.length != 2) {
            throw new SafetensorsException(path, name, "\"data_offsets\" must be [begin, end], got " + Arrays.toString(offsets));
        }
        long begin = offsets[0], end = offsets[1];
        if (begin < 0 || begin > end) {
            throw new SafetensorsException(path, name, "data_offsets " + Arrays.toString(offsets) + " are not 0 <= begin <= end");
        }
        if (end > dataSize) {
            throw new SafetensorsException(path, name, "data_offsets " + Arrays.toString(offsets) + " run past the end of the data ("
                    + dataSize + " bytes after the header): the file is truncated or the offsets are wrong");
        }
        if (end - begin != bytes) {
            throw new SafetensorsException(path, name, "data_offsets " + Arrays.toString(offsets) + " hold " + (end - begin)
                    + " bytes but shape " + Arrays.toString(shape) + " of " + dt.textValue() + " needs " + bytes);
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static long[] longArray(Path path, String name, String field, JsonNode node) {
        if (node == null || !node.isArray()) {
            throw new SafetensorsException(path, name, "\"" + field + "\" must be an array of integers, got " + kind(node));
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw new SafetensorsException(path, name, "\"" + field + "\" must hold 64-bit integers, got "
                        + abbreviate(node.toString()));
            }
            out[i] = v.longValue();
        }
        return out;
    }

    private static void checkNoOverlap(Path path, java.util.Collection<Entry> all) {
        List<Entry> sorted = new ArrayList<>();
        for (Entry e : all) if (e.byteSize() > 0) sorted.add(e);
        sorted.sort(Comparator.comparingLong(Entry::begin));
        for (int i = 1; i < sorted.size(); i++) {
            Entry prev = sorted.get(i - 1), cur = sorted.get(i);
            if (cur.begin < prev.end) {
                throw new SafetensorsException(path, cur.name, "data_offsets [" + cur.begin + ", " + cur.end
                        + "] overlap those of tensor '" + prev.name + "' [" + prev.begin + ", " + prev.end + "]");
            }
        }
    }

    private static String kind(JsonNode n) {
        if (n == null || n.isMissingNode()) return "nothing";
        return n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    // =====================================================================================================

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** Tensor names in header order (the order the writer was given, for files this package wrote). */
    public List<String> names() {
        return List.copyOf(entries.keySet());
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    @Override
    public DType dtype(String name) {
        return entry(name).dtype;
    }

    @Override
    public long[] shape(String name) {
        return entry(name).shape.clone();
    }

    /** Dtype, shape and byte size of one tensor, from the header. */
    public TensorInfo info(String name) {
        Entry e = entry(name);
        return new TensorInfo(e.dtype, e.shape, e.byteSize());
    }

    /** The header's {@code __metadata__} map (empty when absent), in file order. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Total bytes of tensor data, the sum of every tensor's byte size. */
    public long dataBytes() {
        long sum = 0;
        for (Entry e : entries.values()) sum += e.byteSize();
        return sum;
    }

    /**
     * A new CPU tensor of the file's dtype and shape holding a copy of the tensor's bytes (copied once, from the
     * mapping into the tensor's memory). Owned by the current {@link io.higgs4j.torch.Scope}, if any, else by the caller.
     */
    public Tensor load(String name) {
        Entry e = entry(name);
        try {
            MemorySegment src = data.asSlice(e.begin, e.byteSize());
            if (e.dtype == DType.BOOL) checkBools(src, name);
            return Tensor.copyOf(src, e.dtype, e.shape);
        } catch (InternalError err) {
            // The JVM turns a fault on a mapped page (file truncated on disk after open) into this error.
            throw new SafetensorsException(path, name, "could not read the data: the file changed on disk while open"
                    + " (truncated?)", err);
        } catch (IllegalStateException err) {
            if (closed) throw closedError(name);
            throw err;
        }
    }


    private void checkBools(MemorySegment src, String name) {
        long n = src.byteSize();
        for (long i = 0; i < n; i++) {
            byte b = src.get(ValueLayout.JAVA_BYTE, i);
            if (b != 0 && b != 1) {
                throw new SafetensorsException(path, name, "BOOL element " + i + " is " + (b & 0xff) + "; booleans must be 0 or 1");
            }
        }
    }

    Entry entry(String name) {
        if (closed) throw closedError(name);
        Entry e = entries.get(name);
        if (e == null) throw new SafetensorsException(path, name, "no such tensor in this file (it has " + entries.size() + ")");
        return e;
    }

    private SafetensorsException closedError(String name) {
        return new SafetensorsException(path, name, "the file was closed");
    }

    /** Unmaps the file. Tensors already loaded stay valid (they own copies). Closing twice is harmless. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            arena.close();
        } catch (IllegalStateException e) {
            closed = false;   // another thread is reading the mapping right now; still open
            throw new SafetensorsException(path, null, "cannot close while another thread is loading from it", e);
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + entries.size() + " tensors" + (closed ? ", closed" : "") + "]";
    }
}
