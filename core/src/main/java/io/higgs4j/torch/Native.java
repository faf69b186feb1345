package io.higgs4j.torch;

import io.higgs4j.bindings.LibTorchLoader;
import io.higgs4j.bindings.generated.LibTorch;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The thin hand-written layer over the generated libtorch bindings (docs/NATIVE.md). {@link Call} uses them too, for
 * the dispatcher stack; so, for now, do Tensor, Torch and GradMode.
 * Handles are carried as raw addresses ({@code long}); every out-pointer goes through a per-thread scratch segment.
 */
final class Native {

    static final LibTorchLoader.Loaded LOADED = LibTorchLoader.load();

    /** Whether libtorch's failure reports are caught for our exceptions (see {@link LibtorchStderr}). */
    static final boolean CAPTURING_REASONS = LibtorchStderr.start();

    /**
     * HIGGS4J_DEBUG (set, not empty or 0; the trainer's switch for stack traces too) puts libtorch's whole report, with
     * its C++ backtrace, into exceptions, not only its first line.
     */
    static final boolean DEBUG = debugRequested(System.getenv("HIGGS4J_DEBUG"));

    static boolean debugRequested(String value) {
        return value != null && !value.isEmpty() && !value.equals("0");
    }

    /** The libtorch version our calls are written against, as torch_call_dispatcher wants it. */
    static final long EXTENSION_BUILD_VERSION = (2L << 56) | (10L << 48);

    static final int LAYOUT_STRIDED = LibTorch.aoti_torch_layout_strided();
    static final int CONTIGUOUS_FORMAT = LibTorch.aoti_torch_memory_format_contiguous_format();
    static final int PRESERVE_FORMAT = LibTorch.aoti_torch_memory_format_preserve_format();
    static final int DEVICE_CPU = LibTorch.aoti_torch_device_type_cpu();
    static final int DEVICE_CUDA = LibTorch.aoti_torch_device_type_cuda();
    static final int DEVICE_META = LibTorch.aoti_torch_device_type_meta();

    private static final int[] DTYPE_CODES = new int[DType.values().length];
    static {
        for (DType d : DType.values()) {
            DTYPE_CODES[d.ordinal()] = switch (d) {
                case FLOAT32 -> LibTorch.aoti_torch_dtype_float32();
                case FLOAT64 -> LibTorch.aoti_torch_dtype_float64();
                case BFLOAT16 -> LibTorch.aoti_torch_dtype_bfloat16();
                case FLOAT16 -> LibTorch.aoti_torch_dtype_float16();
                case INT64 -> LibTorch.aoti_torch_dtype_int64();
                case INT32 -> LibTorch.aoti_torch_dtype_int32();
                case INT16 -> LibTorch.aoti_torch_dtype_int16();
                case INT8 -> LibTorch.aoti_torch_dtype_int8();
                case UINT8 -> LibTorch.aoti_torch_dtype_uint8();
                case BOOL -> LibTorch.aoti_torch_dtype_bool();
                case COMPLEX64 -> LibTorch.aoti_torch_dtype_complex64();
            };
        }
    }

    static int dtypeCode(DType d) {
        return DTYPE_CODES[d.ordinal()];
    }

    static DType dtypeOf(int code) {
        for (DType d : DType.values()) if (DTYPE_CODES[d.ordinal()] == code) return d;
        throw new TorchException("libtorch dtype code " + code + " is not supported by higgs4j");
    }

    private static final MethodHandle MALLOC = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().findOrThrow("malloc"),
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));

    /** glibc's mallinfo2: ten size_t fields; uordblks (index 7) and hblkhd (index 4) are the bytes in use. */
    private static final MethodHandle MALLINFO2 = Linker.nativeLinker().defaultLookup().find("mallinfo2")
            .map(a -> Linker.nativeLinker().downcallHandle(a, FunctionDescriptor.of(
                    java.lang.foreign.MemoryLayout.structLayout(java.util.stream.IntStream.range(0, 10)
                            .mapToObj(i -> ValueLayout.JAVA_LONG.withName("f" + i))
                            .toArray(java.lang.foreign.MemoryLayout[]::new)))))
            .orElse(null);

    /** Bytes the C heap has handed out (malloc'd and mmapped), or -1 where glibc's mallinfo2 is missing. */
    static long mallocInUse() {
        if (MALLINFO2 == null) return -1;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = (MemorySegment) MALLINFO2.invokeExact((java.lang.foreign.SegmentAllocator) a);
            return info.getAtIndex(ValueLayout.JAVA_LONG, 7) + info.getAtIndex(ValueLayout.JAVA_LONG, 4);
        } catch (Throwable t) {
            return -1;
        }
    }

    /**
     * cudaMemGetInfo of the CUDA runtime that libtorch_cuda brought in (found by soname, so it is the loaded one); null
     * without CUDA. libtorch's C ABI has no memory query, and its allocator statistics are C++ only.
     */
    private static final MethodHandle CUDA_MEM_GET_INFO = cudaMemGetInfo();

    private static MethodHandle cudaMemGetInfo() {
        if (!LOADED.cudaLibrariesLoaded()) return null;
        for (String name : new String[] {"libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0", "libcudart.so"}) {
            try {
                var f = SymbolLookup.libraryLookup(name, Arena.global()).find("cudaMemGetInfo");
                if (f.isPresent()) {
                    return Linker.nativeLinker().downcallHandle(f.get(),
                            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
                }
            } catch (IllegalArgumentException notThere) {
                // try the next soname
            }
        }
        return null;
    }

    /** Bytes in use on the current CUDA device (total minus free, every process counted), or -1. */
    static long cudaMemoryInUse() {
        if (CUDA_MEM_GET_INFO == null) return -1;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(8), total = a.allocate(8);
            int rc = (int) CUDA_MEM_GET_INFO.invokeExact(free, total);
            return rc == 0 ? total.get(ValueLayout.JAVA_LONG, 0) - free.get(ValueLayout.JAVA_LONG, 0) : -1;
        } catch (Throwable t) {
            return -1;
        }
    }

    /** libtorch >= 2.13 keeps the last exception's message; older versions only print it to stderr. */
    private static final MethodHandle LAST_ERROR = SymbolLookup.loaderLookup()
            .find("torch_exception_get_what_without_backtrace")
            .map(a -> Linker.nativeLinker().downcallHandle(a, FunctionDescriptor.of(ValueLayout.ADDRESS)))
            .orElse(null);

    private static final ConcurrentHashMap<String, MemorySegment> C_STRINGS = new ConcurrentHashMap<>();

    /** Per-thread scratch for out-pointers: 16 words. */
    private static final ThreadLocal<MemorySegment> SCRATCH =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(16 * 8L, 8));

    private Native() {}

    static MemorySegment scratch() {
        return SCRATCH.get();
    }

    static MemorySegment ptr(long address) {
        return MemorySegment.ofAddress(address);
    }

    /** A NUL-terminated copy of s that lives as long as the JVM; op names are few and reused. */
    static MemorySegment cString(String s) {
        return C_STRINGS.computeIfAbsent(s, k -> Arena.global().allocateFrom(k, StandardCharsets.UTF_8));
    }

    /** libc malloc, for the boxes of optional arguments that libtorch frees with delete. */
    static long malloc(long bytes) {
        try {
            MemorySegment p = (MemorySegment) MALLOC.invokeExact(bytes);
            if (p.address() == 0) throw new OutOfMemoryError("malloc(" + bytes + ") failed");
            return p.address();
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Text of libtorch's last error when this libtorch keeps it (>= 2.13), else empty. */
    static Optional<String> lastError() {
        if (LAST_ERROR == null) return Optional.empty();
        try {
            MemorySegment p = (MemorySegment) LAST_ERROR.invokeExact();
            if (p.address() == 0) return Optional.empty();
            return Optional.of(p.reinterpret(Long.MAX_VALUE).getString(0, StandardCharsets.UTF_8));
        } catch (Throwable t) {
            return Optional.empty();
        }
    }

    /** For messages that are constant; build others only on failure, with {@link #error}. */
    static void check(int rc, String what) {
        if (rc != 0) throw error(what);
    }

    static TorchException error(String what) {
        return new TorchException(what + " failed" + failureReason());
    }

    /**
     * ": reason" for the libtorch call that just failed on this thread: libtorch's first line, or its whole report
     * with HIGGS4J_DEBUG=1. Call right after the failing call, once.
     */
    static String failureReason() {
        Optional<String> report = LibtorchStderr.lastFailure().or(Native::lastError);
        if (report.isEmpty()) return " (libtorch printed the reason on stderr)";
        String r = report.get().strip();
        return ": " + LibtorchStderr.shortReason(r) + (DEBUG ? "\nlibtorch's report (HIGGS4J_DEBUG):\n" + r : "");
    }

    // ---- handles ----

    static long newHandle(long handle) {
        MemorySegment out = scratch();
        check(LibTorch.aoti_torch_new_tensor_handle(ptr(handle), out), "aoti_torch_new_tensor_handle");
        return out.get(ValueLayout.JAVA_LONG, 0);
    }

    static void deleteHandle(long handle) {
        LibTorch.aoti_torch_delete_tensor_object(ptr(handle));
    }

    static boolean isDefined(long handle) {
        MemorySegment out = scratch();
        check(LibTorch.aoti_torch_is_defined(ptr(handle), out), "aoti_torch_is_defined");
        return out.get(ValueLayout.JAVA_BOOLEAN, 0);
    }

    /** The c10::TensorImpl* of a handle: the first word of the at::Tensor it points to. */
    static MemorySegment tensorImpl(long handle) {
        return MemorySegment.ofAddress(ptr(handle).reinterpret(8).get(ValueLayout.JAVA_LONG, 0));
    }

    static long[] sizes(long handle) {
        MemorySegment out = scratch();
        check(LibTorch.aoti_torch_get_dim(ptr(handle), out), "aoti_torch_get_dim");
        int dim = (int) out.get(ValueLayout.JAVA_LONG, 0);
        check(LibTorch.aoti_torch_get_sizes(ptr(handle), out), "aoti_torch_get_sizes");
        if (dim == 0) return new long[0];
        MemorySegment sizes = out.get(ValueLayout.ADDRESS, 0).reinterpret(8L * dim);
        return sizes.toArray(ValueLayout.JAVA_LONG);
    }

    static long[] strides(long handle) {
        MemorySegment out = scratch();
        check(LibTorch.aoti_torch_get_dim(ptr(handle), out), "aoti_torch_get_dim");
        int dim = (int) out.get(ValueLayout.JAVA_LONG, 0);
        check(LibTorch.aoti_torch_get_strides(ptr(handle), out), "aoti_torch_get_strides");
        if (dim == 0) return new long[0];
        return out.get(ValueLayout.ADDRESS, 0).reinterpret(8L * dim).toArray(ValueLayout.JAVA_LONG);
    }

    static int dtypeCode(long handle) {
        MemorySegment out = scratch();
        check(LibTorch.aoti_torch_get_dtype(ptr(handle), out), "aoti_torch_get_dtype");
        return out.get(ValueLayout.JAVA_INT, 0);
    }

    static Device device(long handle) {
        MemorySegment out = scratch();
        check(LibTorch.aoti_torch_get_device_type(ptr(handle), out), "aoti_torch_get_device_type");
        int type = out.get(ValueLayout.JAVA_INT, 0);
        check(LibTorch.aoti_torch_get_device_index(ptr(handle), out), "aoti_torch_get_device_index");
        return Device.fromCodes(type, out.get(ValueLayout.JAVA_INT, 0));
    }

    static long dataPtr(long handle) {
        MemorySegment out = scratch();
        check(LibTorch.aoti_torch_get_data_ptr(ptr(handle), out), "aoti_torch_get_data_ptr");
        return out.get(ValueLayout.JAVA_LONG, 0);
    }

    static boolean isContiguous(long handle) {
        MemorySegment out = scratch();
        check(LibTorch.aoti_torch_is_contiguous(ptr(handle), out), "aoti_torch_is_contiguous");
        return out.get(ValueLayout.JAVA_BOOLEAN, 0);
    }

    static long storageOffset(long handle) {
        MemorySegment out = scratch();
        check(LibTorch.aoti_torch_get_storage_offset(ptr(handle), out), "aoti_torch_get_storage_offset");
        return out.get(ValueLayout.JAVA_LONG, 0);
    }

    // ---- CUDA devices and streams (for NCCL) ----

    /** The cudaStream_t of libtorch's current stream on a CUDA device; needs a CUDA libtorch (libtorch_cuda). */
    static long currentCudaStream(int deviceIndex) {
        if (SymbolLookup.loaderLookup().find("aoti_torch_get_current_cuda_stream").isEmpty()) {
            throw new TorchException("the current CUDA stream of cuda:" + deviceIndex + " needs a CUDA libtorch (libtorch_cuda"
                    + " was not loaded from " + LOADED.directory() + "); set LIBTORCH to a CUDA libtorch or PyTorch's torch/lib");
        }
        MemorySegment out = scratch();
        int rc = LibTorch.aoti_torch_get_current_cuda_stream(deviceIndex, out);
        if (rc != 0) throw error("aoti_torch_get_current_cuda_stream(cuda:" + deviceIndex + ")");
        return out.get(ValueLayout.JAVA_LONG, 0);
    }

    static long createDeviceGuard(int deviceIndex) {
        MemorySegment out = scratch();
        if (LibTorch.aoti_torch_create_device_guard(deviceIndex, out) != 0) {
            throw error("aoti_torch_create_device_guard(" + deviceIndex + ")");
        }
        return out.get(ValueLayout.JAVA_LONG, 0);
    }

    static void deleteDeviceGuard(long guard) {
        check(LibTorch.aoti_torch_delete_device_guard(ptr(guard)), "aoti_torch_delete_device_guard");
    }

    /** Reads the single out-pointer result of a creating call. */
    static long outHandle() {
        return scratch().get(ValueLayout.JAVA_LONG, 0);
    }
}
