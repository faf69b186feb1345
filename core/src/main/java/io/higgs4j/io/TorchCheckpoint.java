package io.higgs4j.io;

import io.higgs4j.io.PickleReader.PDict;
import io.higgs4j.io.PickleReader.Storage;
import io.higgs4j.io.PickleReader.TensorRef;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

import static io.higgs4j.io.PickleReader.abbreviate;
import static io.higgs4j.io.PickleReader.describe;

/**
 * A PyTorch checkpoint written by {@code torch.save(state_dict, f)} in the zip format (the default since PyTorch 1.6),
 * read without Python: {@link #names()}, {@link #dtype}, {@link #shape}, {@link #load}.
 *
 * <p><b>Layout.</b> The zip holds {@code <archive>/data.pkl} (the pickled state dict, in which each tensor refers to a
 * storage by key), {@code <archive>/data/<key>} (each storage's raw little-endian bytes), {@code <archive>/byteorder}
 * (only {@code little} is accepted) and {@code <archive>/version}. Several tensors may view one storage, each with its
 * own offset and strides; {@link #load} copies exactly the elements a tensor views, in row-major order.
 *
 * <p><b>What is read.</b> The pickle (protocols 2 to 5) is interpreted by a small stack machine (the package's
 * {@code PickleReader}) that knows only the few objects a state dict is made of: dicts ({@code collections.OrderedDict}
 * and plain), tuples, lists, strings, numbers, and tensors rebuilt by {@code torch._utils._rebuild_tensor_v2} or
 * {@code _rebuild_parameter} over storages named by {@code torch.<Type>Storage} classes or {@code torch.<dtype>}
 * objects. Nothing is ever imported or run: any other global (a user class, {@code os.system}, numpy) is refused with
 * a {@link TorchCheckpointException} naming it. An OrderedDict's {@code _metadata} attribute is ignored.
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
        Object root = PickleReader.read(file, pickle);
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
        Storage s = t.storage();
        String record = archive + "/data/" + s.key();
        ZipEntry ze = zip.getEntry(record);
        if (ze == null || ze.isDirectory()) {
            throw new TorchCheckpointException(file, name, "its storage '" + abbreviate(s.key()) + "' has no record "
                    + abbreviate(record) + " in the zip");
        }
        long storageBytes;
        try {
            storageBytes = Math.multiplyExact(s.numel(), (long) s.dtype().elementSize());
        } catch (ArithmeticException e) {
            throw new TorchCheckpointException(file, name, "storage '" + s.key() + "' of " + s.numel() + " elements is too large");
        }
        if (ze.getSize() != storageBytes) {
            throw new TorchCheckpointException(file, name, "storage '" + abbreviate(s.key()) + "' should hold " + s.numel()
                    + " " + s.dtype() + " elements (" + storageBytes + " bytes) but record " + abbreviate(record) + " holds "
                    + ze.getSize() + " bytes: the file is truncated or corrupt");
        }
        long[] shape = t.shape(), strides = t.strides();
        if (shape.length != strides.length) {
            throw new TorchCheckpointException(file, name, "shape " + Arrays.toString(shape) + " and strides "
                    + Arrays.toString(strides) + " differ in length");
        }
        if (t.offset() < 0) throw new TorchCheckpointException(file, name, "negative storage offset " + t.offset());
        long numel = 1, last = t.offset();
        try {
            for (int i = 0; i < shape.length; i++) {
                if (shape[i] < 0) throw new TorchCheckpointException(file, name, "negative dimension in shape " + Arrays.toString(shape));
                if (strides[i] < 0) throw new TorchCheckpointException(file, name, "negative stride in " + Arrays.toString(strides));
                numel = Math.multiplyExact(numel, shape[i]);
            }
            Math.multiplyExact(numel, (long) t.dtype().elementSize());
            if (numel > 0) {
                for (int i = 0; i < shape.length; i++) last = Math.addExact(last, Math.multiplyExact(shape[i] - 1, strides[i]));
            }
        } catch (ArithmeticException e) {
            throw new TorchCheckpointException(file, name, "shape " + Arrays.toString(shape) + " with strides "
                    + Arrays.toString(strides) + " overflows 64 bits");
        }
        if (numel > 0 && last >= s.numel()) {
            throw new TorchCheckpointException(file, name, "offset " + t.offset() + ", shape " + Arrays.toString(shape)
                    + " and strides " + Arrays.toString(strides) + " reach element " + last + " of storage '"
                    + abbreviate(s.key()) + "', which has " + s.numel());
        }
        return new Entry(name, t.dtype(), shape.clone(), strides.clone(), t.offset(), s, record);
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

}
