package io.higgs4j.io;

import io.higgs4j.io.TorchCheckpoint.TorchCheckpointException;
import io.higgs4j.torch.DType;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The pickle reader of {@link TorchCheckpoint}: interprets a {@code data.pkl} (protocols 2 to 5) with a small stack
 * machine that knows only the objects a state dict is made of (dicts, tuples, lists, strings, numbers, and tensors
 * rebuilt over storages). Nothing is imported or run: any other global is refused. Every failure is a
 * {@link TorchCheckpointException} naming the file and the byte offset. One instance reads one pickle, on one thread.
 */
final class PickleReader {

    /** Reads the pickle of a checkpoint file: a {@link PDict}, {@link TensorRef}, ... or a plain Java value. */
    static Object read(Path file, byte[] pickle) {
        return new PickleReader(file, pickle).load();
    }

    /** Python's None (null stands for no value at all). */
    static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };

    private static final Object MARK = new Object();

    static final class PDict {
        final LinkedHashMap<Object, Object> items = new LinkedHashMap<>();
    }

    static final class PList {
        final ArrayList<Object> items = new ArrayList<>();
    }

    record Tuple(List<Object> items) {
        Object get(int i) {
            return items.get(i);
        }

        int size() {
            return items.size();
        }
    }

    record Bytes(byte[] value) {}

    /** A tensor as _rebuild_tensor_v2 describes it. */
    record TensorRef(Storage storage, DType dtype, long offset, long[] shape, long[] strides) {}

    enum Kind { ORDERED_DICT, REBUILD_TENSOR_V2, REBUILD_PARAMETER, REBUILD_FROM_TYPE_V2, TENSOR_TYPE, STORAGE_TYPE, DTYPE }

    /** An allowed global; dtype is set for storage types and dtype objects. */
    record Global(String module, String name, Kind kind, DType dtype) {}

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

    /** One storage reference: the zip record {@code <archive>/data/<key>} read as numel elements of dtype. */
    record Storage(String key, DType dtype, long numel) {}

    private final Path file;
    private final byte[] b;
    private int pos;
    private final ArrayList<Object> stack = new ArrayList<>();
    private int[] marks = new int[16];
    private int markCount;
    private final HashMap<Long, Object> memo = new HashMap<>();

    private PickleReader(Path file, byte[] bytes) {
        this.file = file;
        this.b = bytes;
    }

    private TorchCheckpointException error(int at, String what) {
        return new TorchCheckpointException(file, null, "data.pkl: " + what + " (at byte " + at + ")");
    }

    private Object load() {
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

    /** s cut to 80 characters, control characters shown as '?' (names in a corrupt pickle may hold anything). */
    static String abbreviate(String s) {
        String cut = s.length() <= 80 ? s : s.substring(0, 77) + "...";
        StringBuilder sb = new StringBuilder(cut.length());
        for (int i = 0; i < cut.length(); i++) {
            char c = cut.charAt(i);
            sb.append(Character.isISOControl(c) ? '?' : c);
        }
        return sb.toString();
    }

    /** A short description of an unpickled value, never its contents (which may be huge or self-referential). */
    static String describe(Object o) {
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
}
