package io.higgs4j.torch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * The escape hatch: calls any ATen op by name and overload through libtorch's dispatcher (autograd records it).
 *
 * <p>Arguments are given in schema order, every argument present, defaults included, as Java values:
 * {@link Tensor} (Tensor), {@code long}/{@code int} (int, SymInt), {@code double}/{@code float} (float),
 * {@code boolean} (bool), {@code long[]}/{@code int[]} (int[], SymInt[]), {@code Tensor[]} or a collection of
 * tensors (Tensor[]), {@link String} (str), {@link DType} (ScalarType), {@link Device} (Device), {@link #NONE} for
 * an absent optional, and {@link #some(Object)} for a present optional ({@code Tensor?}, {@code int?}, ...).
 * Scalar arguments cannot be passed in libtorch 2.10: use the op's Tensor overload with a 0-dim tensor. A str argument
 * can, but libtorch 2.10's dispatcher leaks 48 bytes for each one (pytorch/pytorch#191340): keep such calls out of
 * loops, and prefer {@link Tensor#gelu}, {@link Tensor#pad} and {@link Tensor#stft}, which avoid it.
 *
 * <p>Every call is checked against the op's schema, read from libtorch's dispatcher, before anything runs: an unknown
 * op, a wrong argument count, an argument of another kind (an {@code int} where the schema has {@code Tensor}, a bare
 * value for an optional) or a result asked for as the wrong kind is refused with a {@link TorchException} quoting the
 * schema. Tensor results not asked for are freed; an undefined tensor result (one the op left empty) comes back as
 * null. An in-place op ({@code Tensor(a!)} in its schema) may change a tensor's shape ({@code aten::set_},
 * {@code resize_}, {@code squeeze_}): every handle to it, {@link Tensor#share}d ones too, reads its shape again after
 * it. Use the typed methods of {@link Tensor} where they exist.
 *
 * <pre>{@code
 * Tensor y = Aten.callTensor("aten::flip", "", x, new long[] {0});     // one tensor result
 * List<Object> r = Aten.call("aten::sort", "", List.of(Ret.TENSOR, Ret.TENSOR), x, -1L, false);
 * }</pre>
 */
public final class Aten {

    private Aten() {}

    /** What a result slot holds. */
    public enum Ret { TENSOR, TENSOR_LIST, INT, FLOAT, BOOL }

    /** The absent value of an optional argument. */
    public static final Object NONE = new Object() {
        @Override
        public String toString() { return "None"; }
    };

    /** A present value of an optional argument. */
    public record Some(Object value) {}

    public static Some some(Object value) {
        if (value == null || value == NONE) throw new IllegalArgumentException("some() needs a value; use Aten.NONE for absent");
        return new Some(value);
    }

    /** Calls op.overload and returns its results as listed in returns (Tensor, List of Tensor, Long, Double, Boolean). */
    public static List<Object> call(String op, String overload, List<Ret> returns, Object... args) {
        if (op == null) throw new IllegalArgumentException("Aten.call: the op name is null");
        if (returns == null || returns.stream().anyMatch(r -> r == null)) {
            throw new IllegalArgumentException(op + ": the list of results asked for is null or holds null: " + returns);
        }
        if (args == null) throw new IllegalArgumentException(op + ": the arguments are a null array (pass no arguments as none)");
        String ov = overload == null ? "" : overload;
        OpSchema schema = OpSchema.of(op, ov);
        if (schema != null) checkReturns(OpSchema.fullName(op, ov), schema, returns);
        boolean inPlace = schema == null || schema.mutatesArguments; // without the schema to tell, assume it is
        List<Before> before = inPlace ? snapshots(args) : List.of();
        try {
            return invoke(op, ov, schema, returns, args, inPlace, before);
        } finally {
            before.forEach(Before::close);
        }
    }

    private static List<Object> invoke(String op, String ov, OpSchema schema, List<Ret> returns, Object[] args, boolean inPlace,
                                       List<Before> before) {
        Call c = Call.begin(op, ov);
        try {
            for (int i = 0; i < args.length; i++) push(c, op, i, args[i]);
        } catch (RuntimeException e) {
            c.abandon();
            throw e;
        }
        try {
            c.invoke();
        } catch (RuntimeException e) {
            for (Before b : before) {
                try {
                    b.restore();
                } catch (RuntimeException again) {
                    e.addSuppressed(again);
                }
            }
            throw e;
        } finally {
            // An in-place op may have changed the metadata of any handle to its tensors.
            if (inPlace) Tensor.metadataMayHaveChanged();
        }
        List<Object> out = new ArrayList<>(returns.size());
        for (int i = 0; i < returns.size(); i++) {
            out.add(switch (returns.get(i)) {
                case TENSOR -> definedOrNull(c.resultTensor(i));
                case TENSOR_LIST -> c.resultTensorList(i).stream().map(Aten::definedOrNull).toList();
                case INT -> c.resultLong(i);
                case FLOAT -> c.resultDouble(i);
                case BOOL -> c.resultBool(i);
            });
        }
        if (schema != null) freeUnread(c, schema, returns.size());
        return out;
    }

    /**
     * An undefined tensor (the result an op leaves empty, e.g. a gradient its output mask did not ask for) as null,
     * as {@link Tensor#grad()} gives it, rather than a handle that fails on every use.
     */
    private static Tensor definedOrNull(Tensor t) {
        long h = t.acquire();
        boolean defined;
        try {
            defined = Native.isDefined(h);
        } finally {
            t.release();
        }
        if (defined) return t;
        t.close();
        return null;
    }

    /** Results beyond those asked for would be read as other kinds, or not at all: refused before the call. */
    private static void checkReturns(String name, OpSchema schema, List<Ret> returns) {
        if (returns.size() > schema.returns.size()) {
            throw new TorchException(name + " has " + schema.returns.size() + " result(s), " + returns.size()
                    + " asked for; schema: " + schema.text);
        }
        for (int i = 0; i < returns.size(); i++) {
            String type = schema.returns.get(i);
            boolean fits = switch (returns.get(i)) {
                case TENSOR -> type.equals("Tensor");
                case TENSOR_LIST -> type.equals("Tensor[]");
                case INT -> type.equals("int") || type.equals("SymInt") || type.equals("ScalarType");
                case FLOAT -> type.equals("float");
                case BOOL -> type.equals("bool");
            };
            if (!fits) {
                throw new TorchException(name + ": result " + i + " is " + type + " in the schema, asked for as "
                        + returns.get(i) + "; schema: " + schema.text);
            }
        }
    }

    /** Tensor results that were not asked for are new handles: freed here. */
    private static void freeUnread(Call c, OpSchema schema, int read) {
        for (int i = read; i < schema.returns.size(); i++) {
            switch (schema.returns.get(i)) {
                case "Tensor" -> c.resultTensor(i).close();
                case "Tensor[]" -> c.resultTensorList(i).forEach(Tensor::close);
                default -> { }
            }
        }
    }

    /** Calls an op whose single result is a tensor. */
    public static Tensor callTensor(String op, String overload, Object... args) {
        return (Tensor) call(op, overload, List.of(Ret.TENSOR), args).getFirst();
    }

    /** Calls an op that returns nothing, or whose results are not wanted (tensor results are freed). */
    public static void callVoid(String op, String overload, Object... args) {
        call(op, overload, List.of(), args);
    }

    /** A tensor argument of an in-place op as it was before the op ({@link Tensor#snapshot}), to put back if it fails. */
    private record Before(Tensor tensor, Tensor snapshot) implements AutoCloseable {
        void restore() {
            tensor.restore(snapshot);
        }

        @Override
        public void close() {
            snapshot.close();
        }
    }

    /** For an in-place op: each open tensor argument (lists included) as it is now, owned by the caller. */
    private static List<Before> snapshots(Object[] args) {
        List<Before> before = new ArrayList<>();
        for (Object a : args) {
            for (Tensor t : tensorsIn(a)) {
                if (t.isClosed()) continue; // refused by the call itself
                Tensor snapshot;
                try {
                    snapshot = Scope.disown(t.snapshot());
                } catch (TorchException e) {
                    continue; // a tensor without a strided storage (sparse): nothing a failed resize could leave half-done
                }
                before.add(new Before(t, snapshot));
            }
        }
        return before;
    }

    private static List<Tensor> tensorsIn(Object a) {
        return switch (a) {
            case Tensor t -> List.of(t);
            case Some(Tensor t) -> List.of(t);
            case Tensor[] ts -> Arrays.asList(ts);
            case Collection<?> c -> c.stream().filter(o -> o instanceof Tensor).map(o -> (Tensor) o).toList();
            case null, default -> List.of();
        };
    }

    private static void push(Call c, String op, int i, Object a) {
        switch (a) {
            case Some(Object v) -> pushOptional(c, op, i, v);
            case Tensor t -> c.tensor(t);
            case Long v -> c.i64(v);
            case Integer v -> c.i64(v);
            case Double v -> c.f64(v);
            case Float v -> c.f64(v);
            case Boolean v -> c.bool(v);
            case long[] v -> c.ints(v);
            case int[] v -> c.ints(Arrays.stream(v).asLongStream().toArray());
            case Tensor[] v -> c.tensors(v);
            case Collection<?> v -> c.tensors(tensors(op, i, v));
            case String v -> c.str(v);
            case DType v -> c.dtype(v);
            case Device v -> c.device(v);
            case null -> throw bad(op, i, "null (use Aten.NONE for an absent optional)");
            default -> {
                if (a == NONE) c.none();
                else throw bad(op, i, a.getClass().getName());
            }
        }
    }

    private static void pushOptional(Call c, String op, int i, Object v) {
        switch (v) {
            case Tensor t -> c.optTensor(t);
            case Long x -> c.optI64(x);
            case Integer x -> c.optI64((long) x);
            case Double x -> c.optF64(x);
            case Float x -> c.optF64((double) x);
            case Boolean x -> c.optBool(x);
            case long[] x -> c.optInts(x);
            case int[] x -> c.optInts(Arrays.stream(x).asLongStream().toArray());
            case DType x -> c.optDtype(x);
            case Device x -> c.optDevice(x);
            default -> throw bad(op, i, "optional " + v.getClass().getName());
        }
    }

    private static Tensor[] tensors(String op, int i, Collection<?> v) {
        Tensor[] out = new Tensor[v.size()];
        int k = 0;
        for (Object o : v) {
            if (!(o instanceof Tensor t)) throw bad(op, i, "a collection holding " + (o == null ? "null" : o.getClass().getName()));
            out[k++] = t;
        }
        return out;
    }

    private static IllegalArgumentException bad(String op, int i, String what) {
        return new IllegalArgumentException(op + ": argument " + i + " is " + what + ", which has no dispatcher encoding");
    }
}
