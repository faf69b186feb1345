package io.higgs4j.bindings;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.SymbolLookup;
import java.net.URL;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Finds libtorch and loads it into this JVM, once.
 *
 * <p>Where it looks, in order:
 * <ol>
 *   <li>{@code LIBTORCH} (environment) or {@code -Dhiggs4j.libtorch}: a directory holding {@code libc10.so} and
 *       {@code libtorch_cpu.so} (or its {@code lib} subdirectory), e.g. a CUDA libtorch or the {@code torch/lib}
 *       directory of a PyTorch install. CUDA libraries there are loaded too.</li>
 *   <li>The CPU libtorch carried on the class path by {@code org.bytedeco:pytorch:...:linux-x86_64} and
 *       {@code org.bytedeco:openblas:...:linux-x86_64}, extracted once into a versioned cache directory
 *       ({@code HIGGS4J_CACHE} or {@code ~/.cache/higgs4j}).</li>
 * </ol>
 *
 * <p>Libraries are loaded with {@link System#load} by absolute path, so the generated bindings find their symbols
 * through the class loader's lookup. A libtorch older than 2.10 (no {@code torch_call_dispatcher}) is refused.
 */
public final class LibTorchLoader {

    /** The oldest libtorch whose stable C ABI carries everything we call. */
    public static final int MIN_MAJOR = 2, MIN_MINOR = 10;

    private static final String PYTORCH_RESOURCES = "org/bytedeco/pytorch/linux-x86_64/";
    private static final String OPENBLAS_RESOURCES = "org/bytedeco/openblas/linux-x86_64/";

    /** Carried libraries in load order: each one's dependencies come before it. */
    private static final List<String> CARRIED = List.of(
            OPENBLAS_RESOURCES + "libquadmath.so.0",
            OPENBLAS_RESOURCES + "libgfortran.so.5",
            OPENBLAS_RESOURCES + "libopenblas.so.0",
            PYTORCH_RESOURCES + "libgomp.so.1",
            PYTORCH_RESOURCES + "libc10.so",
            PYTORCH_RESOURCES + "libtorch_cpu.so",
            PYTORCH_RESOURCES + "libtorch.so");

    /** Exported C++ functions declared in higgs4j_torch.h; the loader refuses a libtorch that lacks one. */
    public static final List<String> REQUIRED_CPP_SYMBOLS = List.of(
            "_ZNK3c1010TensorImpl4gradEv",
            "_ZN3c1010TensorImpl12mutable_gradEv",
            "_ZNK3c1010TensorImpl13requires_gradEv",
            "_ZN2at6detail22getDefaultCPUGeneratorEv",
            "_ZN2at16CPUGeneratorImpl16set_current_seedEm",
            "_ZN2at15set_num_threadsEi",
            "_ZN2at15get_num_threadsEv",
            "_ZN5torch4cuda12is_availableEv",
            "_ZN5torch4cuda12device_countEv",
            "_ZN5torch4cuda15manual_seed_allEm",
            "_ZN5torch4cuda11synchronizeEl");

    /** What was loaded, from where. */
    public record Loaded(String source, Path directory, List<Path> libraries, long abiVersion) {
        public int major() { return (int) (abiVersion >>> 56) & 0xff; }
        public int minor() { return (int) (abiVersion >>> 48) & 0xff; }
        public int patch() { return (int) (abiVersion >>> 40) & 0xff; }
        public String version() { return major() + "." + minor() + "." + patch(); }
        public boolean cudaLibrariesLoaded() {
            return libraries.stream().anyMatch(p -> p.getFileName().toString().startsWith("libtorch_cuda"));
        }
    }

    private static volatile Loaded loaded;

    private LibTorchLoader() {}

    /** Loads libtorch if it is not loaded yet; safe to call from any thread, any number of times. */
    public static Loaded load() {
        Loaded l = loaded;
        if (l != null) return l;
        synchronized (LibTorchLoader.class) {
            if (loaded == null) {
                loaded = doLoad(System.getProperty("higgs4j.libtorch", System.getenv("LIBTORCH")),
                        LibTorchLoader.class.getClassLoader());
            }
            return loaded;
        }
    }

    /** override: a LIBTORCH directory or null; resources: where the carrier jars' libraries are looked up. */
    static Loaded doLoad(String override, ClassLoader resources) {
        List<String> searched = new ArrayList<>();
        if (override != null && !override.isBlank()) {
            Path dir = Path.of(override);
            if (!Files.exists(dir.resolve("libtorch_cpu.so")) && Files.exists(dir.resolve("lib/libtorch_cpu.so"))) {
                dir = dir.resolve("lib");
            }
            if (!Files.exists(dir.resolve("libtorch_cpu.so")) || !Files.exists(dir.resolve("libc10.so"))) {
                throw new LibTorchNotFoundException("LIBTORCH=" + override + " holds no libc10.so and libtorch_cpu.so"
                        + " (looked in " + Path.of(override) + " and " + Path.of(override, "lib") + "). Point LIBTORCH"
                        + " at a libtorch >= 2.10 lib directory, e.g. the torch/lib directory of a PyTorch install,"
                        + " or unset it to use the CPU libtorch that higgs4j-native brings from Maven Central.");
            }
            return loadFrom("LIBTORCH", dir, overrideLoadOrder(dir));
        }
        searched.add("LIBTORCH and -Dhiggs4j.libtorch (both unset)");

        URL torchCpu = resources.getResource(PYTORCH_RESOURCES + "libtorch_cpu.so");
        URL openblas = resources.getResource(OPENBLAS_RESOURCES + "libopenblas.so.0");
        searched.add("class path resource " + PYTORCH_RESOURCES + "libtorch_cpu.so (" + (torchCpu == null ? "missing" : torchCpu) + ")");
        searched.add("class path resource " + OPENBLAS_RESOURCES + "libopenblas.so.0 (" + (openblas == null ? "missing" : openblas) + ")");
        if (torchCpu == null || openblas == null) {
            throw new LibTorchNotFoundException("libtorch was not found. Searched: " + String.join("; ", searched)
                    + ". Fix: depend on io.higgs4j:higgs4j-native (it brings org.bytedeco:pytorch:2.10.0-1.5.13:jar:linux-x86_64"
                    + " and org.bytedeco:openblas:0.3.31-1.5.13:jar:linux-x86_64 at runtime), or set LIBTORCH to a"
                    + " directory holding libc10.so and libtorch_cpu.so from libtorch >= 2.10.");
        }
        Path dir = extractCarried(cacheName(torchCpu, openblas), resources);
        List<Path> order = CARRIED.stream().map(r -> dir.resolve(fileName(r))).toList();
        return loadFrom("maven:" + jarName(torchCpu), dir, order);
    }

    /** Load order for a user-supplied directory: c10, then CUDA's c10 and torch libraries when present. */
    private static List<Path> overrideLoadOrder(Path dir) {
        List<Path> order = new ArrayList<>();
        for (String name : List.of("libc10.so", "libc10_cuda.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so")) {
            Path p = dir.resolve(name);
            if (Files.exists(p)) order.add(p);
        }
        return order;
    }

    private static Loaded loadFrom(String source, Path dir, List<Path> order) {
        // a SIGTERM during libtorch_cpu.so's initializers would otherwise crash the JVM (see ExitGuard)
        ExitGuard.holdExitDuring("libtorch", () -> {
            for (Path lib : order) {
                try {
                    System.load(lib.toAbsolutePath().toString());
                } catch (UnsatisfiedLinkError e) {
                    throw new LibTorchNotFoundException("could not load " + lib + " (from " + source + "): " + e.getMessage(), e);
                }
            }
        });
        SymbolLookup lookup = SymbolLookup.loaderLookup();
        if (lookup.find("torch_call_dispatcher").isEmpty()) {
            throw new LibTorchNotFoundException("the libtorch in " + dir + " is older than " + MIN_MAJOR + "." + MIN_MINOR
                    + ": it has no torch_call_dispatcher, the stable C ABI entry higgs4j calls. Use libtorch >= 2.10.");
        }
        long abi = io.higgs4j.bindings.generated.LibTorch.aoti_torch_abi_version();
        Loaded result = new Loaded(source, dir, List.copyOf(order), abi);
        if (result.major() < MIN_MAJOR || (result.major() == MIN_MAJOR && result.minor() < MIN_MINOR)) {
            throw new LibTorchNotFoundException("the libtorch in " + dir + " reports version " + result.version()
                    + "; higgs4j needs " + MIN_MAJOR + "." + MIN_MINOR + " or newer.");
        }
        List<String> missing = REQUIRED_CPP_SYMBOLS.stream().filter(s -> lookup.find(s).isEmpty()).toList();
        if (!missing.isEmpty()) {
            throw new LibTorchNotFoundException("the libtorch in " + dir + " (" + result.version() + ") lacks the exported"
                    + " C++ functions " + missing + " that higgs4j needs (see native/include/higgs4j_torch.h).");
        }
        return result;
    }

    // ---- Extraction of the carried libraries ----

    /**
     * Names the cache after the carrier jars and the libtorch_cpu.so entry's CRC and size, so that two different
     * libtorch builds (from differently named or repackaged jars) never share a directory.
     */
    private static String cacheName(URL torchCpu, URL openblas) {
        String fingerprint = "";
        try {
            if (torchCpu.openConnection() instanceof java.net.JarURLConnection jar) {
                var entry = jar.getJarEntry();
                fingerprint = "-" + Long.toHexString(entry.getCrc()) + "-" + entry.getSize();
            }
        } catch (IOException e) {
            // keep the names alone; the marker's sizes still guard against a mismatched copy
        }
        return "libtorch-" + stripJar(jarName(torchCpu)) + "+" + stripJar(jarName(openblas)) + fingerprint;
    }

    private static String jarName(URL resource) {
        String s = resource.toString();
        int bang = s.indexOf("!/");
        String jar = bang >= 0 ? s.substring(0, bang) : s;
        return jar.substring(jar.lastIndexOf('/') + 1);
    }

    private static String stripJar(String name) {
        return name.endsWith(".jar") ? name.substring(0, name.length() - 4) : Integer.toHexString(name.hashCode());
    }

    private static String fileName(String resource) {
        return resource.substring(resource.lastIndexOf('/') + 1);
    }

    static Path cacheRoot() {
        String env = System.getProperty("higgs4j.cache", System.getenv("HIGGS4J_CACHE"));
        if (env != null && !env.isBlank()) return Path.of(env);
        return Path.of(System.getProperty("user.home"), ".cache", "higgs4j");
    }

    /**
     * Extracts the carried libraries into {@code <cache>/<name>} unless a complete copy is there. Another JVM doing
     * the same at the same moment waits on a file lock; a copy left half-written (no valid marker) is replaced.
     * Files are written to a private temporary directory and moved into place in one atomic rename.
     */
    static Path extractCarried(String name, ClassLoader resources) {
        Path root = cacheRoot();
        Path target = root.resolve(name);
        Map<String, Long> expected = new LinkedHashMap<>();
        try {
            Files.createDirectories(root);
            if (isComplete(target)) return target;
            try (FileChannel lockChannel = FileChannel.open(root.resolve(name + ".lock"),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock ignored = lockChannel.lock()) {
                if (isComplete(target)) return target;
                Path tmp = Files.createTempDirectory(root, name + ".tmp-");
                try {
                    for (String resource : CARRIED) {
                        try (InputStream in = resources.getResourceAsStream(resource)) {
                            if (in == null) throw new LibTorchNotFoundException("class path resource " + resource + " is missing");
                            Path out = tmp.resolve(fileName(resource));
                            expected.put(fileName(resource), Files.copy(in, out));
                        }
                    }
                    StringBuilder marker = new StringBuilder();
                    expected.forEach((f, size) -> marker.append(f).append(' ').append(size).append('\n'));
                    Files.writeString(tmp.resolve(MARKER), marker.toString(), StandardCharsets.UTF_8);
                    if (Files.exists(target)) deleteTree(target); // half-written by an older, interrupted run
                    try {
                        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                    } catch (AtomicMoveNotSupportedException | FileAlreadyExistsException e) {
                        Files.move(tmp, target);
                    }
                } finally {
                    if (Files.exists(tmp)) deleteTree(tmp);
                }
            }
            if (!isComplete(target)) throw new LibTorchNotFoundException("extraction into " + target + " did not complete");
            return target;
        } catch (IOException e) {
            throw new LibTorchNotFoundException("could not extract libtorch into " + target + ": " + e
                    + ". Set HIGGS4J_CACHE to a writable directory.", e);
        }
    }

    static final String MARKER = ".complete";

    /** A cache directory is complete when its marker lists every file with the size it has on disk. */
    static boolean isComplete(Path dir) throws IOException {
        Path marker = dir.resolve(MARKER);
        if (!Files.isRegularFile(marker)) return false;
        List<String> lines = Files.readAllLines(marker, StandardCharsets.UTF_8);
        if (lines.size() != CARRIED.size()) return false;
        for (String line : lines) {
            String[] parts = line.split(" ");
            if (parts.length != 2) return false;
            Path f = dir.resolve(parts[0]);
            try {
                if (!Files.isRegularFile(f) || Files.size(f) != Long.parseLong(parts[1])) return false;
            } catch (NumberFormatException e) {
                return false;
            }
        }
        return true;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    /** libtorch could not be found or loaded; the message says what was searched and how to fix it. */
    public static final class LibTorchNotFoundException extends RuntimeException {
        public LibTorchNotFoundException(String message) { super(message); }
        public LibTorchNotFoundException(String message, Throwable cause) { super(message, cause); }
    }
}
