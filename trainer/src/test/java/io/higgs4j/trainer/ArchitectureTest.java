package io.higgs4j.trainer;

import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.constantpool.PoolEntry;
import java.lang.classfile.constantpool.StringEntry;
import java.lang.classfile.constantpool.Utf8Entry;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The rules of docs/ARCHITECTURE.md, checked on the compiled classes of core and trainer (this module sees both):
 * only the native facade refers to the generated bindings, and no two packages depend on each other, directly or
 * through others. A reference is any class name in a class file's constant pool (class entries and descriptors),
 * read with the JDK's ClassFile API; string constants are left out, since a resource path is not a dependency.
 */
class ArchitectureTest {

    private static final String GENERATED = "io/higgs4j/bindings/generated/";

    /** The classes that may call the generated bindings (with their nested classes and lambdas' synthetic names). */
    private static final Set<String> FACADE = Set.of(
            "io/higgs4j/torch/Native", "io/higgs4j/torch/Call",
            "io/higgs4j/nccl/NcclCommunicator");

    private static final Pattern CLASS_NAME = Pattern.compile("io/higgs4j/[\\w/$]+");

    /** Every class of core and trainer, by internal name, with the internal names of the io.higgs4j classes it uses. */
    private static Map<String, Set<String>> references() throws IOException {
        Map<String, Set<String>> refs = new TreeMap<>();
        for (Class<?> anchor : List.of(Tensor.class, Main.class)) {
            scan(location(anchor), refs);
        }
        return refs;
    }

    @Test
    void onlyTheFacadeTouchesTheGeneratedBindings() throws IOException {
        Map<String, Set<String>> refs = references();
        assertTrue(refs.containsKey("io/higgs4j/torch/Native"), "the scan found core's classes");
        assertTrue(refs.get("io/higgs4j/torch/Native").stream().anyMatch(n -> n.startsWith(GENERATED)),
                "the scan sees Native's use of the bindings (else the check below could not fail)");
        List<String> offenders = new ArrayList<>();
        refs.forEach((cls, used) -> {
            if (!FACADE.contains(outerClass(cls)) && used.stream().anyMatch(n -> n.startsWith(GENERATED))) offenders.add(cls);
        });
        assertEquals(List.of(), offenders, "classes outside the native facade that use " + GENERATED);
    }

    @Test
    void packagesFormNoCycle() throws IOException {
        Map<String, Set<String>> graph = new TreeMap<>();
        references().forEach((cls, used) -> {
            Set<String> edges = graph.computeIfAbsent(packageOf(cls), p -> new TreeSet<>());
            for (String u : used) if (!packageOf(u).equals(packageOf(cls))) edges.add(packageOf(u));
        });
        assertTrue(graph.get("io/higgs4j/trainer").contains("io/higgs4j/torch"), "the scan sees trainer using core");
        assertEquals(List.of(), cycles(graph), "package cycles (strongly connected packages)");
    }

    /** The packages that reach one another, as groups of two or more (Tarjan's strongly connected components). */
    static List<Set<String>> cycles(Map<String, Set<String>> graph) {
        Map<String, Integer> index = new HashMap<>(), low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new HashSet<>();
        List<Set<String>> out = new ArrayList<>();
        for (String start : graph.keySet()) {
            if (!index.containsKey(start)) connect(start, graph, index, low, stack, onStack, out);
        }
        return out;
    }

    private static void connect(String v, Map<String, Set<String>> graph, Map<String, Integer> index, Map<String, Integer> low,
                                Deque<String> stack, Set<String> onStack, List<Set<String>> out) {
        index.put(v, index.size());
        low.put(v, index.get(v));
        stack.push(v);
        onStack.add(v);
        for (String w : graph.getOrDefault(v, Set.of())) {
            if (!index.containsKey(w)) {
                connect(w, graph, index, low, stack, onStack, out);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            Set<String> component = new TreeSet<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                component.add(w);
            } while (!w.equals(v));
            if (component.size() > 1) out.add(component);
        }
    }

    @Test
    void theCycleCheckFindsACycle() {
        // The check itself, on a graph written by hand: a -> b -> c -> a is one cycle, d hangs off it.
        Map<String, Set<String>> g = Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a", "d"), "d", Set.of());
        assertEquals(List.of(Set.of("a", "b", "c")), cycles(new TreeMap<>(g)));
    }

    private static void scan(Path root, Map<String, Set<String>> refs) throws IOException {
        if (Files.isDirectory(root)) {
            scanTree(root, refs);
        } else {
            try (FileSystem jar = FileSystems.newFileSystem(root)) {
                scanTree(jar.getPath("/"), refs);
            }
        }
    }

    private static void scanTree(Path root, Map<String, Set<String>> refs) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".class"))::iterator) {
                ClassModel model = ClassFile.of().parse(Files.readAllBytes(f));
                refs.put(model.thisClass().asInternalName(), classNames(model));
            }
        }
    }

    /** Class names in the constant pool's UTF-8 entries (class entries, descriptors, signatures), not in string constants. */
    private static Set<String> classNames(ClassModel model) {
        Set<Utf8Entry> strings = new HashSet<>();
        for (PoolEntry e : model.constantPool()) if (e instanceof StringEntry s) strings.add(s.utf8());
        Set<String> names = new TreeSet<>();
        for (PoolEntry e : model.constantPool()) {
            if (e instanceof Utf8Entry u && !strings.contains(u)) {
                Matcher m = CLASS_NAME.matcher(u.stringValue());
                while (m.find()) names.add(m.group());
            }
        }
        return names;
    }

    private static Path location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String outerClass(String internalName) {
        int dollar = internalName.indexOf('$');
        return dollar < 0 ? internalName : internalName.substring(0, dollar);
    }

    private static String packageOf(String internalName) {
        return internalName.substring(0, internalName.lastIndexOf('/'));
    }
}
