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
import java.util.function.Supplier;

/**
 * The thin hand-written layer over the generated libtorch bindings (docs/NATIVE.md): every libtorch call of core goes
 * through a method here, except the dispatcher stack of {@link Call}. ArchitectureTest keeps it so.
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

    /** glibc's mallinfo2 fields (arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost), or null where it is missing. */
    static long[] mallinfo2() {
        if (MALLINFO2 == null) return null;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = (MemorySegment) MALLINFO2.invokeExact((java.lang.foreign.SegmentAllocator) a);
            return info.toArray(ValueLayout.JAVA_LONG);
        } catch (Throwable t) {
            return null;
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

    /** An exported symbol of the loaded libraries (libtorch is loaded first, by this class's initialisation). */
    static Optional<MemorySegment> symbol(String name) {
        return SymbolLookup.loaderLookup().find(name);
    }

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
        return error(() -> what);
    }

    /** As {@link #error(String)}, claiming libtorch's reason before what is built: building it may itself fail. */
    static TorchException error(Supplier<String> what) {
        String reason = failureReason();
        return new TorchException(what.get() + " failed" + reason);
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

    // ---- creating tensors ----

    /** A copy of values in a confined arena, at least one word long (a 0-dim shape still passes a valid pointer). */
    private static MemorySegment longs(Arena a, long[] values) {
        MemorySegment m = a.allocate(ValueLayout.JAVA_LONG, Math.max(1, values.length));
        MemorySegment.copy(values, 0, m, ValueLayout.JAVA_LONG, 0, values.length);
        return m;
    }

    /** An uninitialised tensor with the given sizes and strides; what names it in the exception if libtorch refuses. */
    static long emptyStrided(long[] shape, long[] strides, int dtype, int deviceType, int deviceIndex, Supplier<String> what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = scratch();
            int rc = LibTorch.aoti_torch_empty_strided(shape.length, longs(a, shape), longs(a, strides), dtype, deviceType,
                    deviceIndex, out);
            if (rc != 0) throw error(what);
            return outHandle();
        }
    }

    /** aten::full through its typed entry, which takes the fill value as a double (the dispatcher cannot pass a Scalar). */
    static long full(long[] shape, double value, int dtype, int deviceType, int deviceIndex, Supplier<String> what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = scratch();
            int rc = LibTorch.aoti_torch_aten_full(longs(a, shape), shape.length, value,
                    a.allocateFrom(ValueLayout.JAVA_INT, dtype), MemorySegment.NULL,
                    a.allocateFrom(ValueLayout.JAVA_INT, deviceType), deviceIndex, MemorySegment.NULL, out);
            if (rc != 0) throw error(what);
            return outHandle();
        }
    }

    /** A CPU tensor viewing src without a copy: the caller keeps src alive as long as the tensor. */
    static long fromBlob(MemorySegment src, long[] shape, long[] strides, int dtype) {
        try (Arena a = Arena.ofConfined()) {
            check(LibTorch.aoti_torch_create_tensor_from_blob(src, shape.length, longs(a, shape), longs(a, strides), 0,
                    dtype, DEVICE_CPU, 0, scratch()), "from_blob");
            return outHandle();
        }
    }

    /** 0-dim CPU tensors holding one number, for the scalar operands of ops. */
    static long scalarInt64(long v) {
        if (LibTorch.aoti_torch_scalar_to_tensor_int64(v, scratch()) != 0) throw error("scalar_to_tensor(" + v + ")");
        return outHandle();
    }

    static long scalarFloat64(double v) {
        if (LibTorch.aoti_torch_scalar_to_tensor_float64(v, scratch()) != 0) throw error("scalar_to_tensor(" + v + ")");
        return outHandle();
    }

    static long scalarFloat32(float v) {
        if (LibTorch.aoti_torch_scalar_to_tensor_float32(v, scratch()) != 0) throw error("scalar_to_tensor(" + v + ")");
        return outHandle();
    }

    // ---- ops with a Scalar argument, through typed entries that still record autograd ----

    /** self - alpha * other; a new handle. */
    static long subtract(long self, long other, double alpha, Supplier<String> what) {
        if (LibTorch.aoti_torch_aten_subtract_Tensor(ptr(self), ptr(other), alpha, scratch()) != 0) throw error(what);
        return outHandle();
    }

    /** Fills the tensor with value in place. */
    static void fill(long handle, double value, Supplier<String> what) {
        if (LibTorch.aoti_torch_aten_fill__Scalar(ptr(handle), value) != 0) throw error(what);
    }

    // ---- scalars out ----

    static double itemDouble(long handle, Supplier<String> what) {
        MemorySegment out = scratch();
        if (LibTorch.aoti_torch_item_float64(ptr(handle), out) != 0) throw error(what);
        return out.get(ValueLayout.JAVA_DOUBLE, 0);
    }

    static long itemLong(long handle, Supplier<String> what) {
        MemorySegment out = scratch();
        if (LibTorch.aoti_torch_item_int64(ptr(handle), out) != 0) throw error(what);
        return out.get(ValueLayout.JAVA_LONG, 0);
    }

    // ---- autograd (the C++ entry points of the header: no C entry reads or resets .grad in 2.10) ----

    static boolean requiresGrad(long handle) {
        return LibTorch._ZNK3c1010TensorImpl13requires_gradEv(tensorImpl(handle));
    }

    static void setRequiresGrad(long handle, boolean requiresGrad, Supplier<String> what) {
        if (LibTorch.torch_set_requires_grad(ptr(handle), requiresGrad) != 0) throw error(what);
    }

    /**
     * A new handle to the tensor's accumulated gradient, or 0 when it has none. The gradient lives inside the tensor's
     * TensorImpl: the caller holds the handle during this call.
     */
    static long gradHandle(long handle) {
        MemorySegment g = LibTorch._ZNK3c1010TensorImpl4gradEv(tensorImpl(handle));
        if (g.address() == 0 || !isDefined(g.address())) return 0;
        return newHandle(g.address());
    }

    /** Sets the tensor's gradient to an undefined tensor (Python's .grad = None), freeing the gradient's memory. */
    static void resetGrad(long handle) {
        check(LibTorch.aoti_torch_new_uninitialized_tensor(scratch()), "new_uninitialized_tensor");
        long undefined = outHandle();
        try {
            MemorySegment slot = LibTorch._ZN3c1010TensorImpl12mutable_gradEv(tensorImpl(handle));
            check(LibTorch.aoti_torch_assign_tensors(ptr(undefined), slot), "reset grad");
        } finally {
            deleteHandle(undefined);
        }
    }

    /** Whether autograd records on this thread. */
    static boolean gradModeEnabled() {
        return LibTorch.aoti_torch_grad_mode_is_enabled();
    }

    static void setGradModeEnabled(boolean enabled) {
        LibTorch.aoti_torch_grad_mode_set_enabled(enabled);
    }

    // ---- the runtime (C++ entry points: seeding and threads have no C entry in 2.10) ----

    /** Seeds the default CPU generator (through its GeneratorImpl, the first word of the at::Generator). */
    static void seedCpu(long seed) {
        MemorySegment generator = LibTorch._ZN2at6detail22getDefaultCPUGeneratorEv();
        MemorySegment impl = MemorySegment.ofAddress(generator.reinterpret(8).get(ValueLayout.JAVA_LONG, 0));
        LibTorch._ZN2at16CPUGeneratorImpl16set_current_seedEm(impl, seed);
    }

    static void seedAllCuda(long seed) {
        LibTorch._ZN5torch4cuda15manual_seed_allEm(seed);
    }

    static int numThreads() {
        return LibTorch._ZN2at15get_num_threadsEv();
    }

    static void setNumThreads(int threads) {
        LibTorch._ZN2at15set_num_threadsEi(threads);
    }

    static boolean cudaAvailable() {
        return LibTorch._ZN5torch4cuda12is_availableEv();
    }

    static int cudaDeviceCount() {
        return (int) LibTorch._ZN5torch4cuda12device_countEv();
    }

    static void cudaSynchronize(int index) {
        LibTorch._ZN5torch4cuda11synchronizeEl(index);
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
