package io.higgs4j.torch;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The schema libtorch registered for an op, such as {@code aten::add.Tensor(Tensor self, Tensor other, *, Scalar
 * alpha=1) -> Tensor}. torch_call_dispatcher reads as many stack slots as the schema has arguments and decodes each by
 * its schema type, so a call with an argument missing or of another kind makes it read a number as a pointer: the
 * process dies. {@link Call} checks every call against the schema first.
 *
 * <p>libtorch's C ABI cannot tell a schema (2.10), so it is read through three exported C++ functions, looked up here
 * rather than in the bindings because they return C++ objects by value: {@code c10::Dispatcher::realSingleton()},
 * {@code c10::Dispatcher::findSchema(const OperatorName&)}, which returns a {@code std::optional<OperatorHandle>} whose
 * first word points at the op's {@code OperatorEntry}, and {@code OperatorEntry::dumpState()}, whose text has a
 * {@code schema: } line. The returned {@code std::string} is freed with libstdc++'s {@code operator delete}. The text's
 * {@code name: } line is compared with the op asked for, so a libtorch laid out differently switches the checks off
 * ({@link #available()} false) instead of misreading them.
 */
final class OpSchema {

    /** One argument: its type without alias annotations ({@code Tensor}, {@code int[]?}, ...) and its name. */
    record Arg(String type, String name) {}

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout OPTIONAL_HANDLE = MemoryLayout.structLayout(
            ValueLayout.JAVA_LONG.withName("operatorDef"), ValueLayout.JAVA_LONG.withName("iterator"),
            ValueLayout.JAVA_LONG.withName("engaged"));
    private static final StructLayout STD_STRING = MemoryLayout.structLayout(
            ValueLayout.JAVA_LONG.withName("data"), ValueLayout.JAVA_LONG.withName("size"),
            ValueLayout.JAVA_LONG.withName("local0"), ValueLayout.JAVA_LONG.withName("local1"));
    /** libstdc++ keeps strings of up to 15 bytes inside the object; longer ones are on the heap. */
    private static final int SSO_CAPACITY = 15;

    private static final MethodHandle REAL_SINGLETON = find("_ZN3c1010Dispatcher13realSingletonEv",
            FunctionDescriptor.of(ValueLayout.ADDRESS));
    private static final MethodHandle FIND_SCHEMA = find("_ZN3c1010Dispatcher10findSchemaERKNS_12OperatorNameE",
            FunctionDescriptor.of(OPTIONAL_HANDLE, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    private static final MethodHandle DUMP_STATE = find("_ZNK3c104impl13OperatorEntry9dumpStateB5cxx11Ev",
            FunctionDescriptor.of(STD_STRING, ValueLayout.ADDRESS));
    private static final MethodHandle OPERATOR_DELETE = find("_ZdlPv", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));

    private static final Map<String, Map<String, OpSchema>> CACHE = new ConcurrentHashMap<>();
    private static volatile boolean layoutMismatch;

    final String text;
    final List<Arg> args;
    /** Result types, alias annotations removed. */
    final List<String> returns;
    /** Whether the op writes into an argument ({@code Tensor(a!)}): an in-place op, which may change its shape. */
    final boolean mutatesArguments;

    private OpSchema(String text, List<Arg> args, List<String> returns, boolean mutatesArguments) {
        this.text = text;
        this.args = args;
        this.returns = returns;
        this.mutatesArguments = mutatesArguments;
    }

    private static MethodHandle find(String symbol, FunctionDescriptor descriptor) {
        return Native.symbol(symbol).map(a -> LINKER.downcallHandle(a, descriptor)).orElse(null);
    }

    /** Whether schemas can be read from the loaded libtorch; without, calls go unchecked as before. */
    static boolean available() {
        return REAL_SINGLETON != null && FIND_SCHEMA != null && DUMP_STATE != null && OPERATOR_DELETE != null
                && !layoutMismatch;
    }

    /**
     * The schema of op.overload ("" for the default overload); null when schemas cannot be read here. Throws when the
     * dispatcher has no such op.
     */
    static OpSchema of(String op, String overload) {
        Map<String, OpSchema> byOverload = CACHE.get(op);
        OpSchema s = byOverload == null ? null : byOverload.get(overload);
        if (s != null || !available()) return s;
        String dump = dumpState(op, overload);
        if (dump == null) {
            throw new TorchException(fullName(op, overload) + ": no such operator in libtorch's dispatcher"
                    + (overload.isEmpty() ? "" : " (check the overload name too)"));
        }
        s = parse(fullName(op, overload), dump);
        if (s == null) return null;
        CACHE.computeIfAbsent(op, k -> new ConcurrentHashMap<>()).put(overload, s);
        return s;
    }

    static String fullName(String op, String overload) {
        return overload.isEmpty() ? op : op + "." + overload;
    }

    /** OperatorEntry::dumpState() of the op, or null when the dispatcher has no schema by that name. */
    private static String dumpState(String op, String overload) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment name = a.allocate(64, 8); // c10::OperatorName: two std::strings
            stdString(a, name, 0, op);
            stdString(a, name, 32, overload);
            MemorySegment dispatcher = (MemorySegment) REAL_SINGLETON.invokeExact();
            MemorySegment handle = (MemorySegment) FIND_SCHEMA.invokeExact((SegmentAllocator) a, dispatcher, name);
            if ((handle.get(ValueLayout.JAVA_BYTE, 16) & 1) == 0) return null;
            MemorySegment entry = MemorySegment.ofAddress(handle.get(ValueLayout.JAVA_LONG, 0));
            MemorySegment str = (MemorySegment) DUMP_STATE.invokeExact((SegmentAllocator) a, entry);
            long data = str.get(ValueLayout.JAVA_LONG, 0), size = str.get(ValueLayout.JAVA_LONG, 8);
            if (size <= SSO_CAPACITY) throw new IllegalStateException("dumpState returned " + size + " bytes");
            MemorySegment chars = MemorySegment.ofAddress(data).reinterpret(size);
            String text = new String(chars.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            OPERATOR_DELETE.invokeExact(MemorySegment.ofAddress(data));
            return text;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Writes a libstdc++ std::string at offset that points at a copy of s. It is only read (findSchema takes a const
     * reference), so pointing it outside the object, as a heap string does, is valid for any length.
     */
    private static void stdString(Arena a, MemorySegment at, long offset, String s) {
        MemorySegment chars = a.allocateFrom(s, StandardCharsets.UTF_8);
        long length = chars.byteSize() - 1;
        at.set(ValueLayout.JAVA_LONG, offset, chars.address());
        at.set(ValueLayout.JAVA_LONG, offset + 8, length);
        at.set(ValueLayout.JAVA_LONG, offset + 16, length); // capacity
    }

    /** Reads the schema: line of a dump; null (and checks switched off) if the dump is not of the op asked for. */
    static OpSchema parse(String fullName, String dump) {
        String name = line(dump, "name: "), schema = line(dump, "schema: ");
        if (!fullName.equals(name) || schema == null || !schema.startsWith(fullName + "(")) {
            layoutMismatch = true;
            return null;
        }
        return parseSchema(schema);
    }

    private static String line(String text, String prefix) {
        for (String l : text.split("\n")) if (l.startsWith(prefix)) return l.substring(prefix.length());
        return null;
    }

    /** Parses {@code name(type name[=default], *, ...) -> results} as FunctionSchema prints it. */
    static OpSchema parseSchema(String schema) {
        int open = schema.indexOf('(');
        int close = matching(schema, open);
        List<Arg> args = new ArrayList<>();
        boolean mutates = false;
        for (String a : splitTopLevel(schema.substring(open + 1, close))) {
            if (a.isEmpty() || a.equals("*")) continue; // '*' only marks the keyword-only arguments that follow
            int eq = topLevelIndex(a, '=');
            String decl = (eq < 0 ? a : a.substring(0, eq)).trim();
            int space = decl.lastIndexOf(' ');
            String type = decl.substring(0, space);
            mutates |= type.contains("!)");
            args.add(new Arg(stripAlias(type), decl.substring(space + 1)));
        }
        String results = schema.substring(close + 1).trim();
        if (results.startsWith("->")) results = results.substring(2).trim();
        if (results.startsWith("(")) results = results.substring(1, matching(results, 0));
        List<String> returns = new ArrayList<>();
        for (String r : splitTopLevel(results)) {
            if (r.isEmpty()) continue;
            int space = topLevelIndex(r, ' ');
            returns.add(stripAlias(space < 0 ? r : r.substring(0, space)));
        }
        return new OpSchema(schema, List.copyOf(args), List.copyOf(returns), mutates);
    }

    /**
     * Whether an argument slot encoded as given (a schema type: Tensor, int, float, bool, ScalarType, Device,
     * MemoryFormat, str, int[], Tensor[], or None for an absent optional), boxed when optional, is read right for an
     * argument of this schema type. An optional argument takes None or a boxed value of its type; any other takes its
     * type unboxed.
     */
    static boolean accepts(String type, String given, boolean optional) {
        if (type.endsWith("?")) return given.equals("None") || optional && acceptsValue(type.substring(0, type.length() - 1), given);
        return !optional && !given.equals("None") && acceptsValue(type, given);
    }

    private static boolean acceptsValue(String type, String given) {
        return switch (given) {
            case "int" -> type.equals("int") || type.equals("SymInt");
            case "int[]" -> isIntList(type);
            default -> type.equals(given);
        };
    }

    /** int[], int[2], SymInt[], SymInt[1]. */
    private static boolean isIntList(String type) {
        String rest = type.startsWith("SymInt[") ? type.substring(6) : type.startsWith("int[") ? type.substring(3) : "";
        if (rest.length() < 2 || rest.charAt(rest.length() - 1) != ']') return false;
        for (int i = 1; i < rest.length() - 1; i++) if (!Character.isDigit(rest.charAt(i))) return false;
        return true;
    }

    /** What to do instead, for the refusals that have a usual cause; else empty. */
    static String hint(String type, String given, boolean optional) {
        if (type.endsWith("?") && !optional && !given.equals("None") && acceptsValue(type.substring(0, type.length() - 1), given)) {
            return " (an optional argument: pass Aten.some(value) or Aten.NONE)";
        }
        if (type.startsWith("Scalar")) return " (libtorch 2.10's dispatcher cannot take a Scalar: use the op's Tensor overload)";
        return "";
    }

    /** Tensor(a!) -> Tensor, Tensor(a!)[] -> Tensor[]. */
    private static String stripAlias(String type) {
        return type.replaceAll("\\([^)]*\\)", "").trim();
    }

    private static int matching(String s, int open) {
        int depth = 0;
        boolean quoted = false;
        for (int i = open; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') quoted = !quoted;
            if (quoted) continue;
            if (c == '(') depth++;
            else if (c == ')' && --depth == 0) return i;
        }
        throw new IllegalArgumentException("unbalanced parentheses in schema " + s);
    }

    /** Splits at commas outside parentheses, brackets and quotes (defaults such as [0, 0] or "a,b"). */
    private static List<String> splitTopLevel(String s) {
        List<String> parts = new ArrayList<>();
        int depth = 0, start = 0;
        boolean quoted = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') quoted = !quoted;
            if (quoted) continue;
            if (c == '(' || c == '[') depth++;
            else if (c == ')' || c == ']') depth--;
            else if (c == ',' && depth == 0) {
                parts.add(s.substring(start, i).trim());
                start = i + 1;
            }
        }
        parts.add(s.substring(start).trim());
        return parts;
    }

    private static int topLevelIndex(String s, char target) {
        int depth = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(' || c == '[') depth++;
            else if (c == ')' || c == ']') depth--;
            else if (c == target && depth == 0) return i;
        }
        return -1;
    }
}
