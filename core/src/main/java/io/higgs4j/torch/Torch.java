package io.higgs4j.torch;

import io.higgs4j.bindings.LibTorchLoader;

import java.nio.file.Path;
import java.util.List;

/** The runtime: what was loaded, threads, CUDA, seeding and grad mode. */
public final class Torch {

    private Torch() {}

    /** Facts about the loaded libtorch. */
    public record RuntimeInfo(String version, long abiVersion, String source, Path directory, List<Path> libraries,
                              int threads, boolean cudaAvailable, int cudaDeviceCount) {}

    public static RuntimeInfo info() {
        LibTorchLoader.Loaded l = Native.LOADED;
        boolean cuda = cudaAvailable();
        return new RuntimeInfo(l.version(), l.abiVersion(), l.source(), l.directory(), l.libraries(), numThreads(),
                cuda, cuda ? cudaDeviceCount() : 0);
    }

    /** Seeds the CPU generator and, when CUDA is there, every CUDA generator: rand, randn, dropout repeat after this. */
    public static void manualSeed(long seed) {
        Native.seedCpu(seed);
        if (cudaAvailable()) Native.seedAllCuda(seed);
    }

    /** Intra-op threads libtorch uses for CPU kernels. */
    public static int numThreads() {
        return Native.numThreads();
    }

    public static void setNumThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        Native.setNumThreads(threads);
    }

    public static boolean cudaAvailable() {
        return Native.cudaAvailable();
    }

    public static int cudaDeviceCount() {
        return Native.cudaDeviceCount();
    }

    /** Waits for every kernel queued on CUDA device index. */
    public static void cudaSynchronize(int index) {
        if (!cudaAvailable()) throw new TorchException("cudaSynchronize: CUDA is not available");
        Native.cudaSynchronize(index);
    }

    /**
     * The cudaStream_t (as an address) of libtorch's current stream on CUDA device index: the stream its kernels for
     * that device are queued on. For native libraries (NCCL) whose work must be ordered with libtorch's. Needs a CUDA
     * libtorch.
     */
    public static long currentCudaStream(int index) {
        if (index < 0) throw new IllegalArgumentException("a cuda device index must be >= 0, got " + index);
        if (!cudaAvailable()) throw new TorchException("currentCudaStream(cuda:" + index + "): CUDA is not available");
        return Native.currentCudaStream(index);
    }

    /** Makes CUDA device index current on this thread until closed, which restores the previous one. */
    public static CudaDeviceGuard useCudaDevice(int index) {
        if (index < 0) throw new IllegalArgumentException("a cuda device index must be >= 0, got " + index);
        if (!cudaAvailable()) throw new TorchException("useCudaDevice(cuda:" + index + "): CUDA is not available");
        return new CudaDeviceGuard(Native.createDeviceGuard(index));
    }

    /** The current CUDA device, set by {@link #useCudaDevice} until {@link #close()}. Not shared between threads. */
    public static final class CudaDeviceGuard implements AutoCloseable {
        private long guard;

        private CudaDeviceGuard(long guard) {
            this.guard = guard;
        }

        @Override
        public void close() {
            if (guard != 0) {
                long g = guard;
                guard = 0;
                Native.deleteDeviceGuard(g);
            }
        }
    }

    /**
     * Bytes of native (C heap) memory in use in this process, libtorch's CPU tensors included, from glibc's
     * mallinfo2; -1 where that is not available. For leak checks and debug reports.
     */
    public static long nativeMemoryInUse() {
        MallocStats m = mallocStats();
        return m == null ? -1 : m.inUse();
    }

    /**
     * glibc's C heap, where libtorch's CPU tensors live, in bytes: handed out (malloc'd and mmapped), held from the system
     * (arenas and mmapped chunks), free inside the arenas, and mmapped alone.
     */
    public record MallocStats(long inUse, long held, long free, long mmapped) {}

    /** The C heap's statistics from glibc's mallinfo2, or null where it is missing (musl, macOS). */
    public static MallocStats mallocStats() {
        long[] m = Native.mallinfo2();
        return m == null ? null : new MallocStats(m[7] + m[4], m[0] + m[4], m[8], m[4]);
    }

    /** Bytes in use on the current CUDA device (cudaMemGetInfo: total minus free), or -1 without CUDA. */
    public static long cudaMemoryInUse() {
        return cudaAvailable() ? Native.cudaMemoryInUse() : -1;
    }

    /** A one-line report of tensor ownership: alive now, and freed by the safety net because nobody closed them. */
    public static String memoryReport() {
        long bytes = nativeMemoryInUse();
        return "tensors alive: " + Tensor.liveCount() + ", leaked (freed by the garbage collector): " + Tensor.leakedCount()
                + (bytes >= 0 ? ", native heap in use: " + (bytes >> 20) + " MiB" : "");
    }

    /** Stops autograd recording on this thread until the returned mode is closed. */
    public static GradMode noGrad() {
        return new GradMode(false);
    }

    public static GradMode enableGrad() {
        return new GradMode(true);
    }
}
