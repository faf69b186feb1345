package io.higgs4j.bindings;

import io.higgs4j.bindings.generated.Nccl;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Finds NCCL ({@code libnccl.so.2}) and loads it into this JVM, once, after libtorch.
 *
 * <p>Where it looks, in order:
 * <ol>
 *   <li>{@code NCCL_LIBRARY} (environment) or {@code -Dhiggs4j.nccl}: the library file itself, or a directory holding
 *       {@code libnccl.so.2}. When set, nothing else is tried: an override that is wrong is reported, not bypassed.</li>
 *   <li>Next to the libtorch in use ({@link LibTorchLoader.Loaded#directory()}), e.g. a libtorch zip that bundles it.</li>
 *   <li>The NVIDIA package of the PyTorch installation that libtorch came from: from {@code site-packages/torch/lib},
 *       {@code ../../nvidia/nccl/lib/libnccl.so.2} (pip's {@code nvidia-nccl-cu12} and similar).</li>
 *   <li>The system's library path, by name, as the dynamic linker resolves it ({@code dlopen("libnccl.so.2")}:
 *       {@code LD_LIBRARY_PATH}, the ld.so cache, and any copy libtorch_cuda already loaded).</li>
 * </ol>
 *
 * <p>The library is loaded with {@link System#load} by absolute path, so the generated bindings ({@link Nccl}) find
 * its symbols through the class loader's lookup. Nothing here needs a GPU; NCCL itself needs one to do anything.
 */
public final class NcclLoader {

    public static final String SONAME = "libnccl.so.2";

    /** What was loaded, from where, and the version NCCL reports. */
    public record Loaded(String source, Path library, int versionCode) {
        /** ncclGetVersion's code: major*10000 + minor*100 + patch since 2.9, major*1000 + minor*100 + patch before. */
        public int major() { return versionCode >= 10000 ? versionCode / 10000 : versionCode / 1000; }
        public int minor() { return versionCode >= 10000 ? versionCode / 100 % 100 : versionCode / 100 % 10; }
        public int patch() { return versionCode % 100; }
        public String version() { return major() + "." + minor() + "." + patch(); }
        /** ncclGetLastError exists since NCCL 2.13. */
        public boolean hasLastError() { return SymbolLookup.loaderLookup().find("ncclGetLastError").isPresent(); }
    }

    private static volatile Loaded loaded;
    private static volatile NcclNotFoundException failure;

    private NcclLoader() {}

    /** Loads NCCL if it is not loaded yet (libtorch first); throws {@link NcclNotFoundException} when it is missing. */
    public static Loaded load() {
        Loaded l = loaded;
        if (l != null) return l;
        synchronized (NcclLoader.class) {
            if (loaded != null) return loaded;
            if (failure != null) throw new NcclNotFoundException(failure.getMessage(), failure);
            try {
                Path libtorch = LibTorchLoader.load().directory();
                loaded = doLoad(libtorch, System.getProperty("higgs4j.nccl", System.getenv("NCCL_LIBRARY")),
                        NcclLoader::resolveByName, NcclLoader::systemLoad);
                return loaded;
            } catch (NcclNotFoundException e) {
                failure = e;
                throw e;
            }
        }
    }

    /** Whether NCCL can be loaded here (loading it if so). */
    public static boolean isAvailable() {
        try {
            load();
            return true;
        } catch (NcclNotFoundException e) {
            return false;
        }
    }

    /** The places looked at for a libtorch directory, in order, before the system path. */
    static List<Path> candidates(Path libtorchDir) {
        List<Path> c = new ArrayList<>();
        if (libtorchDir != null) {
            Path dir = libtorchDir.toAbsolutePath().normalize();
            c.add(dir.resolve(SONAME));
            c.add(dir.resolve("../../nvidia/nccl/lib").normalize().resolve(SONAME));
        }
        return c;
    }

    /**
     * The search itself, with its inputs as parameters. override: NCCL_LIBRARY or null; byName: resolves a soname
     * through the dynamic linker to the absolute path of the library, or null; load: loads a library file.
     */
    static Loaded doLoad(Path libtorchDir, String override, Function<String, Path> byName, LibraryLoad load) {
        if (override != null && !override.isBlank()) {
            Path p = Path.of(override);
            if (Files.isDirectory(p)) p = p.resolve(SONAME);
            if (!Files.isRegularFile(p)) {
                throw new NcclNotFoundException("NCCL_LIBRARY=" + override + " is neither " + SONAME + " nor a directory"
                        + " holding it (looked for " + p + "). Point NCCL_LIBRARY at libnccl.so.2 (NCCL >= 2.x), or unset it"
                        + " to search next to libtorch, in PyTorch's nvidia/nccl/lib and on the system library path.");
            }
            return loadFrom("NCCL_LIBRARY", p, load);
        }
        List<String> searched = new ArrayList<>();
        searched.add("NCCL_LIBRARY and -Dhiggs4j.nccl (both unset)");
        List<Path> candidates = candidates(libtorchDir);
        if (libtorchDir == null) searched.add("next to libtorch (no libtorch directory)");
        for (Path p : candidates) {
            if (Files.isRegularFile(p)) return loadFrom(p.getParent().toString(), p, load);
            searched.add(p + " (missing)");
        }
        Path system = byName.apply(SONAME);
        if (system != null) return loadFrom("system library path", system, load);
        searched.add("the system library path (dlopen(\"" + SONAME + "\") found nothing: LD_LIBRARY_PATH, ld.so cache)");
        throw new NcclNotFoundException("NCCL (" + SONAME + ") was not found, so multi-GPU training is unavailable."
                + " Searched: " + String.join("; ", searched) + ". Fix: install it (pip install nvidia-nccl-cu12 next to"
                + " PyTorch, or the libnccl2 package), or set NCCL_LIBRARY to the path of " + SONAME + ".");
    }

    @FunctionalInterface
    interface LibraryLoad {
        /** Loads the library file and returns ncclGetVersion's code. */
        int load(Path library);
    }

    private static Loaded loadFrom(String source, Path library, LibraryLoad load) {
        int version;
        try {
            version = load.load(library);
        } catch (UnsatisfiedLinkError | IllegalArgumentException e) {
            throw new NcclNotFoundException("could not load " + library + " (from " + source + "): " + e.getMessage(), e);
        }
        Loaded l = new Loaded(source, library, version);
        if (l.major() < 2) {
            throw new NcclNotFoundException("the NCCL in " + library + " reports version " + l.version() + "; higgs4j needs 2.x");
        }
        return l;
    }

    private static int systemLoad(Path library) {
        ExitGuard.holdExitDuring("NCCL", () -> System.load(library.toAbsolutePath().toString())); // as libtorch, see ExitGuard
        if (SymbolLookup.loaderLookup().find("ncclGetVersion").isEmpty()) {
            throw new NcclNotFoundException(library + " loaded but has no ncclGetVersion: it is not NCCL");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_INT);
            int rc = Nccl.ncclGetVersion(out);
            if (rc != 0) throw new NcclNotFoundException("ncclGetVersion of " + library + " failed with ncclResult_t " + rc);
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    // ---- dlopen by name, to learn which file the dynamic linker picks ----

    private static final int RTLD_NOW = 2;

    /** dlopen(name); then dladdr on one of its symbols gives the absolute path of the file. Null when not found. */
    static Path resolveByName(String soname) {
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            MethodHandle dlopen = linker.downcallHandle(libc.findOrThrow("dlopen"),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            MethodHandle dlsym = linker.downcallHandle(libc.findOrThrow("dlsym"),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
            MethodHandle dladdr = linker.downcallHandle(libc.findOrThrow("dladdr"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
            try (Arena a = Arena.ofConfined()) {
                MemorySegment handle = (MemorySegment) dlopen.invokeExact(a.allocateFrom(soname), RTLD_NOW);
                if (handle.address() == 0) return null;
                MemorySegment sym = (MemorySegment) dlsym.invokeExact(handle, a.allocateFrom("ncclGetVersion"));
                if (sym.address() == 0) return null;
                MemorySegment info = a.allocate(4 * 8L, 8); // Dl_info: dli_fname, dli_fbase, dli_sname, dli_saddr
                if ((int) dladdr.invokeExact(sym, info) == 0) return null;
                MemorySegment fname = info.get(ValueLayout.ADDRESS, 0);
                if (fname.address() == 0) return null;
                Path p = Path.of(fname.reinterpret(Long.MAX_VALUE).getString(0, StandardCharsets.UTF_8));
                return p.isAbsolute() && Files.isRegularFile(p) ? p : null;
            }
        } catch (Throwable t) {
            return null; // no dlopen here: treat as not found; the message says the system path was searched
        }
    }

    /** NCCL could not be found or loaded; the message says what was searched and how to fix it. */
    public static final class NcclNotFoundException extends RuntimeException {
        public NcclNotFoundException(String message) { super(message); }
        public NcclNotFoundException(String message, Throwable cause) { super(message, cause); }
    }
}
