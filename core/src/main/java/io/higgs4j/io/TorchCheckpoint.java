package io.higgs4j.io;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * A PyTorch checkpoint written by {@code torch.save(state_dict, f)} in the zip format (the default since PyTorch 1.6),
 * read without Python: {@link #names()}, {@link #dtype}, {@link #shape}, {@link #load}.
 *
 * <p><b>Layout.</b> The zip holds {@code <archive>/data.pkl} (the pickled state dict, in which each tensor refers to a
 * storage by key), {@code <archive>/data/<key>} (each storage's raw little-endian bytes), {@code <archive>/byteorder}
 * (only {@code little} is accepted) and {@code <archive>/version}. Several tensors may view one storage, each with its
 * own offset and strides; {@link #load} copies exactly the elements a tensor views, in row-major order.
 *
 * <p><b>What is read.</b> The pickle (protocols 2 to 5) is interpreted by a small stack machine that knows only the
 * few objects a state dict is made of: dicts ({@code collections.OrderedDict} and plain), tuples, lists, strings,
 * numbers, and tensors rebuilt by {@code torch._utils._rebuild_tensor_v2} or {@code _rebuild_parameter} over storages
 * named by {@code torch.<Type>Storage} classes or {@code torch.<dtype>} objects. Nothing is ever imported or run: any
 * other global (a user class, {@code os.system}, numpy) is refused with a {@link TorchCheckpointException} naming it.
 * An OrderedDict's {@code _metadata} attribute is ignored.
 *
 * <p><b>Which dict.</b> The top-level object must be a dict of string keys to tensors. Failing that, a training
 * checkpoint is accepted when exactly one of its keys {@code "state_dict"} and {@code "model"} holds such a dict: that
 * dict is used and the top-level's other entries (epoch, optimizer state, ...) are ignored. Nested dicts are not
 * flattened.
 *
 * <p><b>Errors.</b> Every failure (not a zip, a truncated file, the legacy pre-1.6 format, a missing record, a
 * malformed or unsupported pickle, a storage shorter than its tensors need) is a {@link TorchCheckpointException}
 * whose message starts with the file and, where one is at fault, the tensor. Malformed input never crashes the JVM
 * and never leaks native memory. The whole checkpoint is checked at {@link #open}: every tensor's offset, shape and
 * strides fit in its storage, and every storage record has the size its key declares.
 *
 * <p>Thread-safe: any number of threads may load from one open checkpoint.
 */
public final class TorchCheckpoint implements CheckpointReader {

    /** A checkpoint that cannot be read; the message names the file and, where one is at fault, the tensor. */
    public static final class TorchCheckpointException extends RuntimeException {
        private final transient Path file;
        private final String tensor;

        public TorchCheckpointException(Path file, String tensor, String message) {
            this(file, tensor, message, null);
        }

        public TorchCheckpointException(Path file, String tensor, String message, Throwable cause) {
            super((file == null ? "" : file + ": ") + (tensor == null ? "" : "tensor '" + tensor + "': ") + message, cause);
            this.file = file;
            this.tensor = tensor;
        }

        /** The checkpoint file. */
        public Path file() {
            return file;
        }

        /** The tensor at fault, or null when the fault is not one tensor's. */
        public String tensor() {
            return tensor;
        }
    }

    /** The largest data.pkl accepted (a state dict's pickle is tiny next to its data: ~100 bytes per tensor). */
    static final long MAX_PICKLE_BYTES = 1L << 30;

    /** First bytes of the legacy (pre-1.6) format: protocol 2, then LONG1 of the magic number 0x1950a86a20f9469cfc6c. */
    private static final byte[] LEGACY_MAGIC = {(byte) 0x80, 0x02, (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c,
            0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19};

    private static final int CHUNK = 1 << 20;

    /** One storage reference: the zip record {@code <archive>/data/<key>} read as numel elements of dtype. */
    private record Storage(String key, DType dtype, long numel) {}

    /** One tensor of the state dict: a view of a storage. */
    private record Entry(String name, DType dtype, long[] shape, long[] strides, long offset, Storage storage,
                         String record) {
        long numel() {
            long n = 1;
            for (long d : shape) n *= d;   // checked at open
            return n;
        }

        /** Storage index of the last element viewed (numel() > 0). */
        long lastIndex() {
            long last = offset;
            for (int i = 0; i < shape.length; i++) last += (shape[i] - 1) * strides[i];
            return last;
        }

        boolean contiguous() {
            long expected = 1;
            for (int i = shape.length - 1; i >= 0; i--) {
                if (shape[i] != 1 && strides[i] != expected) return false;
                expected *= shape[i];
            }
            return true;
        }
    }

    private final Path path;
    private final ZipFile zip;
    private final Map<String, Entry> entries;   // file order
    private volatile boolean closed;

    private TorchCheckpoint(Path path, ZipFile zip, Map<String, Entry> entries) {
        this.path = path;
        this.zip = zip;
        this.entries = entries;
    }

    /** Opens and checks a torch.save zip checkpoint (see the class comment). */
    public static TorchCheckpoint open(Path file) {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new TorchCheckpointException(file, null, "this machine is big-endian; only little-endian hosts are supported");
        }
        if (!Files.exists(file)) throw new TorchCheckpointException(file, null, "no such file");
        if (!Files.isRegularFile(file)) throw new TorchCheckpointException(file, null, "not a regular file");
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(LEGACY_MAGIC.length);
        } catch (IOException e) {
            throw new TorchCheckpointException(file, null, "cannot read: " + e, e);
        }
        if (Arrays.equals(head, LEGACY_MAGIC)) {
            throw new TorchCheckpointException(file, null, "legacy torch.save format (PyTorch before 1.6, or"
                    + " _use_new_zipfile_serialization=False) is not supported; re-save it with a current torch.save");
        }
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException e) {
            boolean zipStart = head.length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
            throw new TorchCheckpointException(file, null, zipStart
                    ? "truncated or corrupt zip archive (" + e.getMessage() + ")"
                    : "not a zip archive, so not a torch.save checkpoint (" + e.getMessage() + ")", e);
        } catch (IOException | UnsupportedOperationException e) {
            throw new TorchCheckpointException(file, null, "cannot open: " + e, e);
        }
        try {
            return new TorchCheckpoint(file, zip, readEntries(file, zip));
        } catch (RuntimeException e) {
            closeQuietly(zip);
            throw e;
        } catch (IOException e) {
            closeQuietly(zip);
            throw new TorchCheckpointException(file, null, "cannot read: " + e, e);
        }
    }

    private static Map<String, Entry> readEntries(Path file, ZipFile zip) throws IOException {
        String archive = archiveName(file, zip);

        ZipEntry byteorder = zip.getEntry(archive + "/byteorder");
        if (byteorder != null) {
            String order = new String(readSmall(file, zip, byteorder, 64), StandardCharsets.US_ASCII).strip();
            if (order.equals("big")) {
                throw new TorchCheckpointException(file, null, "the checkpoint was saved on a big-endian machine"
                        + " (byteorder record says \"big\"); only little-endian checkpoints are supported");
            }
            if (!order.equals("little")) {
                throw new TorchCheckpointException(file, null, "byteorder record says \"" + abbreviate(order)
                        + "\"; expected \"little\"");
            }
        }
        ZipEntry version = zip.getEntry(archive + "/version");
        if (version != null) {
            String v = new String(readSmall(file, zip, version, 64), StandardCharsets.US_ASCII).strip();
            if (!v.matches("[0-9]{1,9}")) {
                throw new TorchCheckpointException(file, null, "version record \"" + abbreviate(v) + "\" is not a number");
            }
        }

        ZipEntry pkl = zip.getEntry(archive + "/data.pkl");
        byte[] pickle = readSmall(file, zip, pkl, MAX_PICKLE_BYTES);
        Object root = new Unpickler(file, pickle).load();
        Map<Object, Object> dict = stateDict(file, root);

        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<Object, Object> e : dict.entrySet()) {
            String name = (String) e.getKey();   // checked by stateDict
            TensorRef t = (TensorRef) e.getValue();
            entries.put(name, check(file, zip, archive, name, t));
        }
        return Collections.unmodifiableMap(entries);
    }

    /** The top folder holding data.pkl. */
    private static String archiveName(Path file, ZipFile zip) {
        List<String> found = new ArrayList<>();
        boolean torchScript = false;
        Enumeration<? extends ZipEntry> all = zip.entries();
        while (all.hasMoreElements()) {
            String n = all.nextElement().getName();
            int slash = n.indexOf('/');
            if (slash > 0 && n.indexOf('/', slash + 1) < 0) {
                String rest = n.substring(slash + 1);
                if (rest.equals("data.pkl")) found.add(n.substring(0, slash));
                if (rest.equals("constants.pkl")) torchScript = true;
            }
        }
        if (found.isEmpty()) {
            throw new TorchCheckpointException(file, null, "the zip archive has no <archive>/data.pkl record, so it is"
                    + " not a torch.save checkpoint" + (torchScript ? " (it looks like a TorchScript archive from"
                    + " torch.jit.save; save its state_dict() with torch.save instead)" : ""));
        }
        if (found.size() > 1) {
            throw new TorchCheckpointException(file, null, "the zip archive has data.pkl in several folders " + found
                    + "; expected one");
        }
        return found.getFirst();
    }

    private static byte[] readSmall(Path file, ZipFile zip, ZipEntry entry, long limit) throws IOException {
        long size = entry.getSize();
        if (size > limit) {
            throw new TorchCheckpointException(file, null, "record " + entry.getName() + " is " + size
                    + " bytes, more than the " + limit + " accepted");
        }
        try (InputStream in = zip.getInputStream(entry)) {
            byte[] bytes = in.readNBytes((int) Math.min(limit, Integer.MAX_VALUE - 8));
            if (size >= 0 && bytes.length != size) {
                throw new TorchCheckpointException(file, null, "record " + entry.getName() + " holds " + bytes.length
                        + " bytes but the zip directory says " + size + ": the file is truncated or corrupt");
            }
            return bytes;
        } catch (ZipException e) {
            throw new TorchCheckpointException(file, null, "cannot read record " + entry.getName() + ": " + e.getMessage(), e);
        }
    }

    /** The dict of tensors the checkpoint holds: the top level, or its "state_dict" or "model" entry. */
    private static Map<Object, Object> stateDict(Path file, Object root) {
        if (!(root instanceof PDict top)) {
            throw new TorchCheckpointException(file, null, "the pickled object is " + describe(root)
                    + ", not a dict of tensors (a state_dict)");
        }
        String problem = tensorDictProblem(top);
        if (problem == null) return top.items;
        PDict chosen = null;
        int candidates = 0;
        for (String key : List.of("state_dict", "model")) {
            if (top.items.get(key) instanceof PDict d && tensorDictProblem(d) == null) {
                candidates++;
                chosen = d;
            }
        }
        if (candidates == 1) return chosen.items;
        if (candidates > 1) {
            throw new TorchCheckpointException(file, null, "both \"state_dict\" and \"model\" hold dicts of tensors;"
                    + " cannot tell which is the model's");
        }
        throw new TorchCheckpointException(file, null, "not a state dict: " + problem
                + ", and no \"state_dict\" or \"model\" entry holds a dict of tensors");
    }

    /** Why d is not a dict of string keys to tensors, or null if it is. */
    private static String tensorDictProblem(PDict d) {
        for (Map.Entry<Object, Object> e : d.items.entrySet()) {
            if (!(e.getKey() instanceof String k)) return "a key is " + describe(e.getKey()) + ", not a string";
            if (!(e.getValue() instanceof TensorRef)) {
                return "the value of '" + abbreviate(k) + "' is " + describe(e.getValue()) + ", not a tensor";
            }
        }
        return null;
    }

    /** Validates one tensor against its storage record. */
    private static Entry check(Path file, ZipFile zip, String archive, String name, TensorRef t) {
        Storage s = t.storage;
        String record = archive + "/data/" + s.key;
        ZipEntry ze = zip.getEntry(record);
        if (ze == null || ze.isDirectory()) {
            throw new TorchCheckpointException(file, name, "its storage '" + abbreviate(s.key) + "' has no record "
                    + abbreviate(record) + " in the zip");
        }
        long storageBytes;
        try {
            storageBytes = Math.multiplyExact(s.numel, (long) s.dtype.elementSize());
        } catch (ArithmeticException e) {
            throw new TorchCheckpointException(file, name, "storage '" + s.key + "' of " + s.numel + " elements is too large");
        }
        if (ze.getSize() != storageBytes) {
            throw new TorchCheckpointException(file, name, "storage '" + abbreviate(s.key) + "' should hold " + s.numel
                    + " " + s.dtype + " elements (" + storageBytes + " bytes) but record " + abbreviate(record) + " holds "
                    + ze.getSize() + " bytes: the file is truncated or corrupt");
        }
        long[] shape = t.shape, strides = t.strides;
        if (shape.length != strides.length) {
            throw new TorchCheckpointException(file, name, "shape " + Arrays.toString(shape) + " and strides "
                    + Arrays.toString(strides) + " differ in length");
        }
        if (t.offset < 0) throw new TorchCheckpointException(file, name, "negative storage offset " + t.offset);
        long numel = 1, last = t.offset;
        try {
            for (int i = 0; i < shape.length; i++) {
                if (shape[i] < 0) throw new TorchCheckpointException(file, name, "negative dimension in shape " + Arrays.toString(shape));
                if (strides[i] < 0) throw new TorchCheckpointException(file, name, "negative stride in " + Arrays.toString(strides));
                numel = Math.multiplyExact(numel, shape[i]);
            }
            Math.multiplyExact(numel, (long) t.dtype.elementSize());
            if (numel > 0) {
                for (int i = 0; i < shape.length; i++) last = Math.addExact(last, Math.multiplyExact(shape[i] - 1, strides[i]));
            }
        } catch (ArithmeticException e) {
            throw new TorchCheckpointException(file, name, "shape " + Arrays.toString(shape) + " with strides "
                    + Arrays.toString(strides) + " overflows 64 bits");
        }
        if (numel > 0 && last >= s.numel) {
            throw new TorchCheckpointException(file, name, "offset " + t.offset + ", shape " + Arrays.toString(shape)
                    + " and strides " + Arrays.toString(strides) + " reach element " + last + " of storage '"
                    + abbreviate(s.key) + "', which has " + s.numel);
        }
        return new Entry(name, t.dtype, shape.clone(), strides.clone(), t.offset, s, record);
    }

    // =====================================================================================================

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** The state dict's keys, in the order they were saved. */
    public List<String> names() {
        return List.copyOf(entries.keySet());
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    public DType dtype(String name) {
        return entry(name).dtype;
    }

    /** The tensor's dimensions (empty for a 0-dim tensor); a copy. */
    public long[] shape(String name) {
        return entry(name).shape.clone();
    }

    /**
     * A new contiguous CPU tensor holding a copy of the saved tensor's elements, of its saved dtype and shape (a saved
     * view comes back as a copy of just the elements it views). Owned by the current {@link Scope}, if any, else by
     * the caller.
     */
    public Tensor load(String name) {
        Entry e = entry(name);
        long numel = e.numel();
        int es = e.dtype.elementSize();
        long bytes = numel * es;
        Tensor t = Tensor.empty(e.shape, e.dtype, Device.CPU);
        if (bytes == 0) return t;
        try {
            MemorySegment dst = MemorySegment.ofAddress(t.dataAddress()).reinterpret(bytes);
            ZipEntry ze = zip.getEntry(e.record);
            if (ze == null) throw new TorchCheckpointException(path, name, "record " + e.record + " disappeared");
            try (InputStream in = zip.getInputStream(ze)) {
                skipFully(in, e.offset * es, e);
                if (e.contiguous()) {
                    readFully(in, dst, e);
                } else {
                    long span = (e.lastIndex() - e.offset + 1) * es;
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment src = arena.allocate(span, 8);
                        readFully(in, src, e);
                        gather(src, dst, e.shape, e.strides, es);
                    }
                }
            }
            if (e.dtype == DType.BOOL) checkBools(dst, name);
            return t;
        } catch (IOException | IllegalStateException ex) {
            t.close();
            if (closed) throw new TorchCheckpointException(path, name, "the checkpoint was closed", ex);
            throw new TorchCheckpointException(path, name, "cannot read its data: " + ex, ex);
        } catch (RuntimeException | Error ex) {
            t.close();
            throw ex;
        }
    }

    private Entry entry(String name) {
        if (closed) throw new TorchCheckpointException(path, name, "the checkpoint was closed");
        Entry e = entries.get(name);
        if (e == null) throw new TorchCheckpointException(path, name, "no such tensor in this checkpoint (it has " + entries.size() + ")");
        return e;
    }

    private void skipFully(InputStream in, long n, Entry e) throws IOException {
        long left = n;
        while (left > 0) {
            long k = in.skip(left);
            if (k <= 0) {
                if (in.read() < 0) throw eof(e);
                k = 1;
            }
            left -= k;
        }
    }

    private void readFully(InputStream in, MemorySegment dst, Entry e) throws IOException {
        long size = dst.byteSize();
        byte[] buf = new byte[(int) Math.min(CHUNK, size)];
        long done = 0;
        while (done < size) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, size - done));
            if (r < 0) throw eof(e);
            MemorySegment.copy(buf, 0, dst, ValueLayout.JAVA_BYTE, done, r);
            done += r;
        }
    }

    private TorchCheckpointException eof(Entry e) {
        return new TorchCheckpointException(path, e.name, "record " + e.record + " ended early: the file is truncated or"
                + " changed on disk");
    }

    /** Copies the elements a strided view of src (which starts at the view's first element) selects, row-major. */
    private static void gather(MemorySegment src, MemorySegment dst, long[] shape, long[] strides, int es) {
        int nd = shape.length;
        long inner = shape[nd - 1], innerStride = strides[nd - 1];
        long rows = 1;
        for (int d = 0; d < nd - 1; d++) rows *= shape[d];
        long[] idx = new long[Math.max(nd - 1, 0)];
        long base = 0, out = 0;
        for (long r = 0; r < rows; r++) {
            if (innerStride == 1) {
                MemorySegment.copy(src, base * es, dst, out, inner * es);
            } else {
                for (long j = 0; j < inner; j++) MemorySegment.copy(src, (base + j * innerStride) * es, dst, out + j * es, es);
            }
            out += inner * es;
            for (int d = nd - 2; d >= 0; d--) {
                base += strides[d];
                if (++idx[d] < shape[d]) break;
                base -= strides[d] * shape[d];
                idx[d] = 0;
            }
        }
    }

    private void checkBools(MemorySegment data, String name) {
        long n = data.byteSize();
        for (long i = 0; i < n; i++) {
            byte b = data.get(ValueLayout.JAVA_BYTE, i);
            if (b != 0 && b != 1) {
                throw new TorchCheckpointException(path, name, "bool element " + i + " is " + (b & 0xff) + "; booleans must be 0 or 1");
            }
        }
    }

    /** Closes the zip file. Tensors already loaded stay valid (they own copies). Closing twice is harmless. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            zip.close();
        } catch (IOException e) {
            throw new TorchCheckpointException(path, null, "cannot close: " + e, e);
        }
    }

    @Override
    public String toString() {
        return "TorchCheckpoint[" + path + ", " + entries.size() + " tensors" + (closed ? ", closed" : "") + "]";
    }

    private static void closeQuietly(ZipFile zip) {
        try {
            zip.close();
        } catch (IOException ignored) {
            // the failure being reported matters more
        }
    }

    /** s cut to 80 characters, control characters shown as '?' (names in a corrupt pickle may hold anything). */
    private static String abbreviate(String s) {
        String cut = s.length() <= 80 ? s : s.substring(0, 77) + "...";
        StringBuilder sb = new StringBuilder(cut.length());
        for (int i = 0; i < cut.length(); i++) {
            char c = cut.charAt(i);
            sb.append(Character.isISOControl(c) ? '?' : c);
        }
        return sb.toString();
    }

    /** A short description of an unpickled value, never its contents (which may be huge or self-referential). */
    private static String describe(Object o) {
        return switch (o) {
            case null -> "nothing";
            case String s -> "the string '" + abbreviate(s) + "'";
            case Long l -> "the integer " + l;
            case BigInteger b -> "a big integer";
            case Double d -> "the float " + d;
            case Boolean b -> "the boolean " + b;
            case PDict d -> "a dict of " + d.items.size() + " entries";
            case Tuple t -> "a tuple of " + t.items.size();
            case PList l -> "a list of " + l.items.size();
            case TensorRef t -> "a tensor";
            case Storage s -> "a storage";
            case Global g -> "the global " + g.module + "." + g.name;
            case Bytes b -> "bytes";
            default -> o == NONE ? "None" : o.getClass().getSimpleName();
        };
    }

    // =====================================================================================================
    // The unpickler: only the objects a state dict is made of, nothing executed.
    // =====================================================================================================

    private static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };

    private static final Object MARK = new Object();

    private static final class PDict {
        final LinkedHashMap<Object, Object> items = new LinkedHashMap<>();
    }

    private static final class PList {
        final ArrayList<Object> items = new ArrayList<>();
    }

    private record Tuple(List<Object> items) {
        Object get(int i) {
            return items.get(i);
        }

        int size() {
            return items.size();
        }
    }

    private record Bytes(byte[] value) {}

    /** A tensor as _rebuild_tensor_v2 describes it. */
    private record TensorRef(Storage storage, DType dtype, long offset, long[] shape, long[] strides) {}

    private enum Kind { ORDERED_DICT, REBUILD_TENSOR_V2, REBUILD_PARAMETER, REBUILD_FROM_TYPE_V2, TENSOR_TYPE, STORAGE_TYPE, DTYPE }

    /** An allowed global; dtype is set for storage types and dtype objects. */
    private record Global(String module, String name, Kind kind, DType dtype) {}

    private static final Map<String, DType> STORAGE_TYPES = Map.ofEntries(
            Map.entry("FloatStorage", DType.FLOAT32), Map.entry("DoubleStorage", DType.FLOAT64),
            Map.entry("HalfStorage", DType.FLOAT16), Map.entry("BFloat16Storage", DType.BFLOAT16),
            Map.entry("LongStorage", DType.INT64), Map.entry("IntStorage", DType.INT32),
            Map.entry("ShortStorage", DType.INT16), Map.entry("CharStorage", DType.INT8),
            Map.entry("ByteStorage", DType.UINT8), Map.entry("BoolStorage", DType.BOOL),
            Map.entry("ComplexFloatStorage", DType.COMPLEX64), Map.entry("UntypedStorage", DType.UINT8));

    private static final Map<String, DType> DTYPES = Map.ofEntries(
            Map.entry("float32", DType.FLOAT32), Map.entry("float", DType.FLOAT32),
            Map.entry("float64", DType.FLOAT64), Map.entry("double", DType.FLOAT64),
            Map.entry("float16", DType.FLOAT16), Map.entry("half", DType.FLOAT16),
            Map.entry("bfloat16", DType.BFLOAT16),
            Map.entry("int64", DType.INT64), Map.entry("long", DType.INT64),
            Map.entry("int32", DType.INT32), Map.entry("int", DType.INT32),
            Map.entry("int16", DType.INT16), Map.entry("short", DType.INT16),
            Map.entry("int8", DType.INT8), Map.entry("uint8", DType.UINT8), Map.entry("bool", DType.BOOL),
            Map.entry("complex64", DType.COMPLEX64), Map.entry("cfloat", DType.COMPLEX64));

    private static final Set<String> TENSOR_TYPES = Set.of("torch.Tensor", "torch._tensor.Tensor",
            "torch.nn.parameter.Parameter");

    private static final class Unpickler {
        private final Path file;
        private final byte[] b;
        private int pos;
        private final ArrayList<Object> stack = new ArrayList<>();
        private int[] marks = new int[16];
        private int markCount;
        private final HashMap<Long, Object> memo = new HashMap<>();

        Unpickler(Path file, byte[] bytes) {
            this.file = file;
            this.b = bytes;
        }

        private TorchCheckpointException error(int at, String what) {
            return new TorchCheckpointException(file, null, "data.pkl: " + what + " (at byte " + at + ")");
        }

        Object load() {
            try {
                return run();
            } catch (TorchCheckpointException e) {
                throw e;
            } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
                throw error(pos, "malformed pickle: " + e);
            }
        }

        private Object run() {
            while (true) {
                if (pos >= b.length) throw error(pos, "ends without a STOP opcode: truncated or not a pickle");
                int at = pos;
                int op = b[pos++] & 0xff;
                switch (op) {
                    case 0x80 -> {   // PROTO
                        int v = u8();
                        if (v < 2 || v > 5) throw error(at, "pickle protocol " + v + " is not supported (2 to 5 are)");
                    }
                    case 0x95 -> n(8);            // FRAME: a hint for buffered readers; the opcodes follow inline
                    case '}' -> push(new PDict());                 // EMPTY_DICT
                    case ')' -> push(new Tuple(List.of()));        // EMPTY_TUPLE
                    case ']' -> push(new PList());                 // EMPTY_LIST
                    case '(' -> {                                  // MARK
                        if (markCount == marks.length) marks = Arrays.copyOf(marks, marks.length * 2);
                        marks[markCount++] = stack.size();
                    }
                    case 'X' -> push(utf8(length(u32(), at), at));            // BINUNICODE
                    case 0x8c -> push(utf8(u8(), at));                         // SHORT_BINUNICODE
                    case 0x8d -> push(utf8(length(s64(), at), at));           // BINUNICODE8
                    case 'U' -> push(latin1(u8(), at));                        // SHORT_BINSTRING
                    case 'T' -> push(latin1(length(s32(), at), at));          // BINSTRING
                    case 'C' -> push(new Bytes(n(u8())));                      // SHORT_BINBYTES
                    case 'B' -> push(new Bytes(n(length(u32(), at))));        // BINBYTES
                    case 0x8e -> push(new Bytes(n(length(s64(), at))));       // BINBYTES8
                    case 'J' -> push((long) s32());                            // BININT
                    case 'K' -> push((long) u8());                             // BININT1
                    case 'M' -> push((long) (u8() | u8() << 8));               // BININT2
                    case 0x8a -> push(longN(u8(), at));                        // LONG1
                    case 0x8b -> push(longN(length(s32(), at), at));          // LONG4
                    case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(s64())));   // BINFLOAT, big-endian
                    case 0x88 -> push(Boolean.TRUE);                           // NEWTRUE
                    case 0x89 -> push(Boolean.FALSE);                          // NEWFALSE
                    case 'N' -> push(NONE);                                    // NONE
                    case 't' -> push(new Tuple(Collections.unmodifiableList(popMark(at))));   // TUPLE
                    case 0x85 -> push(tuple(1, at));                           // TUPLE1
                    case 0x86 -> push(tuple(2, at));                           // TUPLE2
                    case 0x87 -> push(tuple(3, at));                           // TUPLE3
                    case 'l' -> {                                              // LIST
                        PList l = new PList();
                        l.items.addAll(popMark(at));
                        push(l);
                    }
                    case 'a' -> {                                              // APPEND
                        Object v = pop(at);
                        list(peek(at), at).items.add(v);
                    }
                    case 'e' -> {                                              // APPENDS
                        List<Object> vs = popMark(at);
                        list(peek(at), at).items.addAll(vs);
                    }
                    case 'd' -> {                                              // DICT
                        List<Object> kv = popMark(at);
                        PDict d = new PDict();
                        putAll(d, kv, at);
                        push(d);
                    }
                    case 's' -> {                                              // SETITEM
                        Object v = pop(at), k = pop(at);
                        put(dict(peek(at), at), k, v, at);
                    }
                    case 'u' -> {                                              // SETITEMS
                        List<Object> kv = popMark(at);
                        putAll(dict(peek(at), at), kv, at);
                    }
                    case 'c' -> {                                              // GLOBAL
                        String module = line(at), name = line(at);
                        push(global(module, name, at));
                    }
                    case 0x93 -> {                                             // STACK_GLOBAL
                        Object name = pop(at), module = pop(at);
                        if (!(module instanceof String m) || !(name instanceof String n)) {
                            throw error(at, "STACK_GLOBAL needs two strings, got " + describe(module) + " and " + describe(name));
                        }
                        push(global(m, n, at));
                    }
                    case 'R' -> {                                              // REDUCE
                        Object args = pop(at), callable = pop(at);
                        push(call(callable, args, at));
                    }
                    case 0x81 -> {                                             // NEWOBJ
                        Object args = pop(at), cls = pop(at);
                        if (!(cls instanceof Global g) || g.kind != Kind.ORDERED_DICT || !(args instanceof Tuple t) || t.size() != 0) {
                            throw error(at, "NEWOBJ of " + describe(cls) + " is not supported");
                        }
                        push(new PDict());
                    }
                    case 'b' -> {                                              // BUILD
                        pop(at);   // the state
                        Object target = peek(at);
                        // An OrderedDict's state is its instance __dict__ (a state dict's _metadata); a tensor's is
                        // Python-side attributes. Neither matters for the weights.
                        if (!(target instanceof PDict) && !(target instanceof TensorRef)) {
                            throw error(at, "BUILD on " + describe(target) + " is not supported");
                        }
                    }
                    case 'q' -> memo.put((long) u8(), peek(at));              // BINPUT
                    case 'r' -> memo.put(u32(), peek(at));                      // LONG_BINPUT
                    case 0x94 -> memo.put((long) memo.size(), peek(at));        // MEMOIZE
                    case 'h' -> push(memoGet(u8(), at));                        // BINGET
                    case 'j' -> push(memoGet(u32(), at));                       // LONG_BINGET
                    case 'Q' -> push(persistent(pop(at), at));                  // BINPERSID
                    case '0' -> pop(at);                                        // POP
                    case '1' -> popMark(at);                                    // POP_MARK
                    case '2' -> push(peek(at));                                 // DUP
                    case '.' -> {                                               // STOP
                        return pop(at);
                    }
                    default -> throw error(at, String.format("unsupported pickle opcode 0x%02x", op));
                }
            }
        }

        // ---- reading ----

        private void need(long n) {
            if (n < 0 || n > b.length - pos) throw error(pos, "needs " + n + " more bytes but only " + (b.length - pos) + " remain: truncated");
        }

        private int u8() {
            need(1);
            return b[pos++] & 0xff;
        }

        private int s32() {
            need(4);
            int v = (b[pos] & 0xff) | (b[pos + 1] & 0xff) << 8 | (b[pos + 2] & 0xff) << 16 | (b[pos + 3] & 0xff) << 24;
            pos += 4;
            return v;
        }

        private long u32() {
            return s32() & 0xffffffffL;
        }

        private long s64() {
            need(8);
            long v = 0;
            for (int i = 7; i >= 0; i--) v = v << 8 | (b[pos + i] & 0xff);
            pos += 8;
            return v;
        }

        private int length(long n, int at) {
            if (n < 0 || n > b.length - pos) throw error(at, "a length of " + n + " runs past the end of the pickle");
            return (int) n;
        }

        private byte[] n(int n) {
            need(n);
            byte[] out = Arrays.copyOfRange(b, pos, pos + n);
            pos += n;
            return out;
        }

        private String utf8(int n, int at) {
            need(n);
            String s = new String(b, pos, n, StandardCharsets.UTF_8);
            pos += n;
            return s;
        }

        private String latin1(int n, int at) {
            need(n);
            String s = new String(b, pos, n, StandardCharsets.ISO_8859_1);
            pos += n;
            return s;
        }

        private String line(int at) {
            int start = pos;
            while (pos < b.length && b[pos] != '\n') pos++;
            if (pos >= b.length) throw error(at, "GLOBAL name runs past the end of the pickle");
            String s = new String(b, start, pos - start, StandardCharsets.UTF_8);
            pos++;
            return s;
        }

        /** A little-endian two's-complement integer of n bytes. */
        private Object longN(int n, int at) {
            if (n > 64) throw error(at, "an integer of " + n + " bytes is too large");
            byte[] le = n(n);
            if (n == 0) return 0L;
            byte[] be = new byte[n];
            for (int i = 0; i < n; i++) be[i] = le[n - 1 - i];
            BigInteger v = new BigInteger(be);
            return v.bitLength() < 64 ? (Object) v.longValue() : v;
        }

        // ---- the stack ----

        private void push(Object o) {
            stack.add(o);
        }

        private int floor() {
            return markCount == 0 ? 0 : marks[markCount - 1];
        }

        private Object pop(int at) {
            if (stack.size() <= floor()) throw error(at, "stack underflow: the pickle is malformed");
            return stack.removeLast();
        }

        private Object peek(int at) {
            if (stack.size() <= floor()) throw error(at, "stack underflow: the pickle is malformed");
            return stack.getLast();
        }

        private List<Object> popMark(int at) {
            if (markCount == 0) throw error(at, "no MARK to pop to: the pickle is malformed");
            int from = marks[--markCount];
            List<Object> sub = stack.subList(from, stack.size());
            List<Object> out = new ArrayList<>(sub);
            sub.clear();
            return out;
        }

        private Tuple tuple(int n, int at) {
            Object[] items = new Object[n];
            for (int i = n - 1; i >= 0; i--) items[i] = pop(at);
            return new Tuple(Collections.unmodifiableList(Arrays.asList(items)));
        }

        private Object memoGet(long key, int at) {
            Object o = memo.get(key);
            if (o == null) throw error(at, "memo entry " + key + " was never stored");
            return o;
        }

        private PList list(Object o, int at) {
            if (o instanceof PList l) return l;
            throw error(at, "APPEND to " + describe(o) + ", not a list");
        }

        private PDict dict(Object o, int at) {
            if (o instanceof PDict d) return d;
            throw error(at, "SETITEM on " + describe(o) + ", not a dict");
        }

        private void putAll(PDict d, List<Object> kv, int at) {
            if (kv.size() % 2 != 0) throw error(at, "odd number of items for a dict");
            for (int i = 0; i < kv.size(); i += 2) put(d, kv.get(i), kv.get(i + 1), at);
        }

        private void put(PDict d, Object k, Object v, int at) {
            // Only keys with value semantics: a list or dict as key (unhashable in Python) could even contain itself.
            if (!(k instanceof String || k instanceof Long || k instanceof BigInteger || k instanceof Double
                    || k instanceof Boolean || k == NONE)) {
                throw error(at, "dict key " + describe(k) + " is not supported (string and number keys are)");
            }
            d.items.put(k, v);
        }

        // ---- globals, calls and storages ----

        private Global global(String module, String name, int at) {
            String full = module + "." + name;
            Global g = switch (module) {
                case "collections" -> name.equals("OrderedDict") ? new Global(module, name, Kind.ORDERED_DICT, null) : null;
                case "torch._utils" -> switch (name) {
                    case "_rebuild_tensor_v2" -> new Global(module, name, Kind.REBUILD_TENSOR_V2, null);
                    case "_rebuild_parameter", "_rebuild_parameter_with_state" ->
                            new Global(module, name, Kind.REBUILD_PARAMETER, null);
                    default -> null;
                };
                case "torch._tensor" -> name.equals("_rebuild_from_type_v2")
                        ? new Global(module, name, Kind.REBUILD_FROM_TYPE_V2, null) : null;
                case "torch" -> STORAGE_TYPES.containsKey(name) ? new Global(module, name, Kind.STORAGE_TYPE, STORAGE_TYPES.get(name))
                        : DTYPES.containsKey(name) ? new Global(module, name, Kind.DTYPE, DTYPES.get(name))
                        : null;
                default -> null;
            };
            if (g == null && TENSOR_TYPES.contains(full)) g = new Global(module, name, Kind.TENSOR_TYPE, null);
            if (g == null) {
                String hint = module.equals("torch") && (name.endsWith("Storage") || !name.isEmpty() && Character.isLowerCase(name.charAt(0)))
                        ? " (a storage type or dtype higgs4j does not support)" : "";
                throw error(at, "unsupported pickle global " + abbreviate(full) + hint);
            }
            return g;
        }

        private Object call(Object callable, Object args, int at) {
            if (!(callable instanceof Global g)) throw error(at, "REDUCE calls " + describe(callable) + ", not a global");
            if (!(args instanceof Tuple t)) throw error(at, "REDUCE arguments are " + describe(args) + ", not a tuple");
            return switch (g.kind) {
                case ORDERED_DICT -> {
                    if (t.size() != 0) throw error(at, "collections.OrderedDict with arguments is not supported");
                    yield new PDict();
                }
                case REBUILD_TENSOR_V2 -> rebuildTensor(t, at);
                case REBUILD_PARAMETER -> {
                    if (t.size() < 3 || !(t.get(0) instanceof TensorRef data)) {
                        throw error(at, g.name + " needs (tensor, requires_grad, hooks), got " + describe(t));
                    }
                    yield data;
                }
                case REBUILD_FROM_TYPE_V2 -> {
                    // (func, type, args, state): a tensor subclass (Parameter) rebuilt by func(*args); state ignored.
                    if (t.size() != 4 || !(t.get(0) instanceof Global f) || !(t.get(2) instanceof Tuple fargs)
                            || !(t.get(1) instanceof Global type) || type.kind != Kind.TENSOR_TYPE
                            || (f.kind != Kind.REBUILD_TENSOR_V2 && f.kind != Kind.REBUILD_PARAMETER)) {
                        throw error(at, "torch._tensor._rebuild_from_type_v2 with these arguments is not supported");
                    }
                    yield call(f, fargs, at);
                }
                default -> throw error(at, g.module + "." + g.name + " cannot be called here");
            };
        }

        private TensorRef rebuildTensor(Tuple t, int at) {
            if (t.size() < 4 || !(t.get(0) instanceof Storage s) || !(t.get(1) instanceof Long offset)
                    || !(t.get(2) instanceof Tuple size) || !(t.get(3) instanceof Tuple stride)) {
                throw error(at, "torch._utils._rebuild_tensor_v2 needs (storage, offset, size, stride, ...), got "
                        + describe(t) + (t.size() > 0 ? " starting with " + describe(t.get(0)) : ""));
            }
            return new TensorRef(s, s.dtype, offset, longs(size, "size", at), longs(stride, "stride", at));
        }

        private long[] longs(Tuple t, String what, int at) {
            long[] out = new long[t.size()];
            for (int i = 0; i < out.length; i++) {
                if (!(t.get(i) instanceof Long v)) throw error(at, "tensor " + what + " holds " + describe(t.get(i)));
                out[i] = v;
            }
            return out;
        }

        private Storage persistent(Object pid, int at) {
            if (!(pid instanceof Tuple t) || t.size() != 5 || !"storage".equals(t.get(0))) {
                throw error(at, "persistent id " + describe(pid) + " is not ('storage', type, key, location, numel)");
            }
            if (!(t.get(1) instanceof Global g) || (g.kind != Kind.STORAGE_TYPE && g.kind != Kind.DTYPE)) {
                throw error(at, "storage type " + describe(t.get(1)) + " is not a torch storage type or dtype");
            }
            if (!(t.get(2) instanceof String key) || !(t.get(4) instanceof Long numel) || numel < 0) {
                throw error(at, "storage key must be a string and numel a non-negative integer, got "
                        + describe(t.get(2)) + " and " + describe(t.get(4)));
            }
            return new Storage(key, g.dtype, numel);
        }
    }
}
