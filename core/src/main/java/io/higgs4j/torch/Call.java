package io.higgs4j.torch;

import io.higgs4j.bindings.generated.LibTorch;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One call through libtorch's dispatcher: arguments are recorded in Java first, then checked (every tensor still
 * open), then encoded as StableIValues and passed in one downcall. Nothing native is allocated before the checks
 * pass, so a refused call leaks nothing.
 *
 * <p>A per-thread instance is reused; a call started while another is being built on the same thread (which our
 * own code avoids) gets a fresh instance, so nesting is safe either way.
 */
final class Call {

    private static final int MAX_ARGS = 32;
    private static final int STACK_SLOTS = 64;

    /** What an argument slot holds, with the schema type it encodes. */
    private enum Kind {
        TENSOR("Tensor"), INT("int"), FLOAT("float"), BOOL("bool"), DTYPE("ScalarType"),
        DEVICE("Device"), INT_LIST("int[]"), TENSOR_LIST("Tensor[]"), STRING("str"), NONE("None"), MEMORY_FORMAT("MemoryFormat");

        final String schemaType;

        Kind(String schemaType) {
            this.schemaType = schemaType;
        }
    }

    private static final ThreadLocal<Call> CURRENT = ThreadLocal.withInitial(Call::new);

    private final MemorySegment stack = Arena.ofAuto().allocate(STACK_SLOTS * 8L, 8);
    private final Kind[] kinds = new Kind[MAX_ARGS];
    private final boolean[] optional = new boolean[MAX_ARGS];
    private final long[] prims = new long[MAX_ARGS];
    private final Object[] refs = new Object[MAX_ARGS];
    /** The tensors of the call being run, held until the dispatcher returns (a tensor list may hold many). */
    private Tensor[] held = new Tensor[MAX_ARGS];
    private int heldCount;
    private int n;
    private boolean inUse;
    private String op = "", overload = "";

    static Call begin(String op, String overload) {
        Call c = CURRENT.get();
        if (c.inUse) c = new Call();
        c.inUse = true;
        c.n = 0;
        c.op = op;
        c.overload = overload;
        return c;
    }

    private Call add(Kind kind, boolean opt, long prim, Object ref) {
        if (n == MAX_ARGS) {
            inUse = false;
            throw new TorchException(op + ": more than " + MAX_ARGS + " arguments");
        }
        kinds[n] = kind;
        optional[n] = opt;
        prims[n] = prim;
        refs[n] = ref;
        n++;
        return this;
    }

    Call tensor(Tensor t) {
        if (t == null) {
            inUse = false;
            throw new NullPointerException(op + ": tensor argument " + n + " is null");
        }
        return add(Kind.TENSOR, false, 0, t);
    }

    /** Tensor? argument; null passes None. */
    Call optTensor(Tensor t) { return t == null ? none() : add(Kind.TENSOR, true, 0, t); }
    Call i64(long v) { return add(Kind.INT, false, v, null); }
    Call optI64(Long v) { return v == null ? none() : add(Kind.INT, true, v, null); }
    Call f64(double v) { return add(Kind.FLOAT, false, Double.doubleToRawLongBits(v), null); }
    Call optF64(Double v) { return v == null ? none() : add(Kind.FLOAT, true, Double.doubleToRawLongBits(v), null); }
    Call bool(boolean v) { return add(Kind.BOOL, false, v ? 1 : 0, null); }
    Call optBool(Boolean v) { return v == null ? none() : add(Kind.BOOL, true, v ? 1 : 0, null); }
    Call dtype(DType d) { return add(Kind.DTYPE, false, d.code(), null); }
    Call optDtype(DType d) { return d == null ? none() : add(Kind.DTYPE, true, d.code(), null); }
    Call device(Device d) { return add(Kind.DEVICE, false, d.stableIValue(), null); }
    Call optDevice(Device d) { return d == null ? none() : add(Kind.DEVICE, true, d.stableIValue(), null); }
    // Arrays are kept as given, not copied: every Call is built and invoked in one expression (Ops, Aten), and invoke
    // drops them, so nothing can change them in between.
    Call ints(long... v) { return add(Kind.INT_LIST, false, 0, v); }
    Call optInts(long[] v) { return v == null ? none() : add(Kind.INT_LIST, true, 0, v); }
    Call tensors(Tensor... ts) {
        for (Tensor t : ts) {
            if (t == null) {
                inUse = false;
                throw new NullPointerException(op + ": a tensor in list argument " + n + " is null");
            }
        }
        return add(Kind.TENSOR_LIST, false, 0, ts);
    }
    Call str(String s) { return add(Kind.STRING, false, 0, s); }
    Call memoryFormat(int code) { return add(Kind.MEMORY_FORMAT, false, code, null); }
    Call optMemoryFormat(Integer code) { return code == null ? none() : add(Kind.MEMORY_FORMAT, true, code, null); }
    Call none() { return add(Kind.NONE, false, 0, null); }

    /** Gives up a call being built (an argument was refused); nothing native was allocated yet. */
    void abandon() {
        for (int i = 0; i < n; i++) refs[i] = null;
        n = 0;
        inUse = false;
    }

    /** Runs the op; results are then read with the result* methods, in any order, before the next call. */
    Call invoke() {
        try {
            // Checks first: a closed tensor refuses the call before anything native is allocated. Every tensor
            // argument is held from here until the dispatcher returns, so neither close() on another thread nor the
            // Cleaner can free it under the call.
            try {
                checkSchema();
                for (int i = 0; i < n; i++) {
                    if (refs[i] instanceof Tensor t) hold(t);
                    else if (refs[i] instanceof Tensor[] ts) for (Tensor t : ts) hold(t);
                }
            } catch (RuntimeException e) {
                releaseHeld();
                throw e;
            }
            try {
                for (int i = 0; i < n; i++) {
                    long v = encode(i);
                    if (optional[i]) {
                        long box = Native.malloc(8);
                        MemorySegment.ofAddress(box).reinterpret(8).set(ValueLayout.JAVA_LONG, 0, v);
                        v = box;
                    }
                    stack.setAtIndex(ValueLayout.JAVA_LONG, i, v);
                }
                int rc = LibTorch.torch_call_dispatcher(Native.cString(op), Native.cString(overload), stack,
                        Native.EXTENSION_BUILD_VERSION);
                if (rc != 0) throw new TorchException(describeFailure());
            } finally {
                releaseHeld();
            }
            return this;
        } finally {
            for (int i = 0; i < n; i++) refs[i] = null; // the stack slots keep only results now
            inUse = false;
        }
    }

    /**
     * Refuses a call whose arguments do not fit the op's schema: the dispatcher reads exactly as many slots as the schema
     * has arguments and decodes each by its schema type, so a missing or different argument would be read as a pointer.
     */
    private void checkSchema() {
        OpSchema schema = OpSchema.of(op, overload);
        if (schema == null) return;
        if (n != schema.args.size()) {
            throw new TorchException(OpSchema.fullName(op, overload) + " takes " + schema.args.size() + " arguments (every one given, defaults"
                    + " included), got " + n + "; schema: " + schema.text);
        }
        for (int i = 0; i < n; i++) {
            OpSchema.Arg a = schema.args.get(i);
            String given = kinds[i].schemaType;
            if (!OpSchema.accepts(a.type(), given, optional[i])) {
                throw new TorchException(OpSchema.fullName(op, overload) + ": argument " + i + " (" + a.name() + ") is " + a.type() + " in the schema"
                        + ", got " + (optional[i] ? "optional " : "") + given + " " + describe(i)
                        + OpSchema.hint(a.type(), given, optional[i]) + "; schema: " + schema.text);
            }
        }
    }

    private void hold(Tensor t) {
        t.acquire();
        if (heldCount == held.length) held = java.util.Arrays.copyOf(held, held.length * 2);
        held[heldCount++] = t;
    }

    private void releaseHeld() {
        for (int i = 0; i < heldCount; i++) {
            held[i].release();
            held[i] = null;
        }
        heldCount = 0;
    }

    private long encode(int i) {
        return switch (kinds[i]) {
            case TENSOR -> ((Tensor) refs[i]).handleToConsume();
            case INT, FLOAT, BOOL, DTYPE, DEVICE, MEMORY_FORMAT -> prims[i];
            case NONE -> 0L;
            case INT_LIST -> {
                long[] values = (long[]) refs[i];
                long list = newList(values.length);
                for (long v : values) Native.check(LibTorch.torch_list_push_back(Native.ptr(list), v), "torch_list_push_back");
                yield list;
            }
            case TENSOR_LIST -> {
                Tensor[] ts = (Tensor[]) refs[i];
                long list = newList(ts.length);
                for (Tensor t : ts) {
                    Native.check(LibTorch.torch_list_push_back(Native.ptr(list), Native.newHandle(t.heldHandle())),
                            "torch_list_push_back");
                }
                yield list;
            }
            case STRING -> {
                byte[] bytes = ((String) refs[i]).getBytes(StandardCharsets.UTF_8);
                MemorySegment scratch = Native.scratch();
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment s = a.allocate(bytes.length + 1L);
                    MemorySegment.copy(bytes, 0, s, ValueLayout.JAVA_BYTE, 0, bytes.length);
                    Native.check(LibTorch.torch_new_string_handle(s, bytes.length, scratch), "torch_new_string_handle");
                }
                yield scratch.get(ValueLayout.JAVA_LONG, 0);
            }
        };
    }

    private static long newList(int size) {
        MemorySegment out = Native.scratch();
        Native.check(LibTorch.torch_new_list_reserve_size(size, out), "torch_new_list_reserve_size");
        return out.get(ValueLayout.JAVA_LONG, 0);
    }

    private String describeFailure() {
        String reason = Native.failureReason();
        StringBuilder sb = new StringBuilder(op);
        if (!overload.isEmpty()) sb.append('.').append(overload);
        sb.append(" failed for (");
        for (int i = 0; i < n; i++) {
            if (i > 0) sb.append(", ");
            sb.append(describe(i));
        }
        return sb.append(')').append(reason).toString();
    }

    private String describe(int i) {
        return switch (kinds[i]) {
            case TENSOR -> ((Tensor) refs[i]).describe();
            case INT -> Long.toString(prims[i]);
            case FLOAT -> Double.toString(Double.longBitsToDouble(prims[i]));
            case BOOL -> prims[i] != 0 ? "true" : "false";
            case DTYPE -> DType.fromCode((int) prims[i]).toString();
            case DEVICE -> deviceOf(prims[i]).toString();
            case MEMORY_FORMAT -> "memory_format " + prims[i];
            case INT_LIST -> java.util.Arrays.toString((long[]) refs[i]);
            case TENSOR_LIST -> {
                StringBuilder sb = new StringBuilder("[");
                Tensor[] ts = (Tensor[]) refs[i];
                for (int k = 0; k < ts.length; k++) sb.append(k > 0 ? ", " : "").append(ts[k].describe());
                yield sb.append(']').toString();
            }
            case STRING -> '"' + (String) refs[i] + '"';
            case NONE -> "None";
        };
    }

    /** Decodes {@link Device#stableIValue()}. */
    private static Device deviceOf(long stableIValue) {
        return Device.fromCodes((int) (stableIValue >>> 32), (int) stableIValue);
    }

    // ---- results ----

    Tensor resultTensor(int i) {
        return Tensor.adopt(stack.getAtIndex(ValueLayout.JAVA_LONG, i));
    }

    long resultLong(int i) {
        return stack.getAtIndex(ValueLayout.JAVA_LONG, i);
    }

    double resultDouble(int i) {
        return Double.longBitsToDouble(stack.getAtIndex(ValueLayout.JAVA_LONG, i));
    }

    boolean resultBool(int i) {
        return stack.getAtIndex(ValueLayout.JAVA_LONG, i) != 0;
    }

    List<Tensor> resultTensorList(int i) {
        long list = stack.getAtIndex(ValueLayout.JAVA_LONG, i);
        MemorySegment out = Native.scratch();
        try {
            Native.check(LibTorch.torch_list_size(Native.ptr(list), out), "torch_list_size");
            int size = (int) out.get(ValueLayout.JAVA_LONG, 0);
            List<Tensor> result = new ArrayList<>(size);
            for (int k = 0; k < size; k++) {
                Native.check(LibTorch.torch_list_get_item(Native.ptr(list), k, out), "torch_list_get_item");
                result.add(Tensor.adopt(out.get(ValueLayout.JAVA_LONG, 0)));
            }
            return result;
        } finally {
            LibTorch.torch_delete_list(Native.ptr(list));
        }
    }

    /** Runs the op and adopts its single tensor result. */
    Tensor tensorResult() {
        return invoke().resultTensor(0);
    }
}
