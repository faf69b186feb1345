package io.higgs4j.nccl;

import io.higgs4j.bindings.NcclLoader;
import io.higgs4j.bindings.generated.Nccl;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;

/**
 * One rank's NCCL communicator: collectives on CUDA tensors, in place, queued on libtorch's current CUDA stream of
 * the communicator's device, so they run after the kernels that produced their inputs and before the ones that
 * read their outputs. The thin hand-written layer over the generated {@link Nccl} bindings: the only class that
 * calls them.
 *
 * <p>Setting up: rank 0 calls {@link #uniqueId()} and sends the 128 bytes to every other rank (a file, a socket,
 * an environment variable); every rank then calls {@link #create} with the same id and world size, its own rank and
 * its own CUDA device. {@code create} blocks until all ranks have joined.
 *
 * <p>Every failed NCCL call becomes an {@link NcclException} naming the call, the rank and NCCL's reason. A rank
 * whose peer died should {@link #abort()} rather than {@link #close()}, which could wait forever.
 *
 * <p>Not thread-safe: one thread drives one communicator (NCCL's own rule).
 */
public final class NcclCommunicator implements AutoCloseable {

    /** NCCL's built-in reductions (ncclRedOp_t); {@code AVG} needs NCCL >= 2.10. */
    public enum ReduceOp {
        SUM(0), PROD(1), MAX(2), MIN(3), AVG(4);

        final int code;

        ReduceOp(int code) { this.code = code; }
    }

    /** ncclResult_t names, by value. */
    private static final String[] RESULTS = {"ncclSuccess", "ncclUnhandledCudaError", "ncclSystemError",
            "ncclInternalError", "ncclInvalidArgument", "ncclInvalidUsage", "ncclRemoteError", "ncclInProgress",
            "ncclTimeout"};

    /** ncclDataType_t values (nccl.h). */
    static final int NCCL_INT8 = 0, NCCL_UINT8 = 1, NCCL_INT32 = 2, NCCL_INT64 = 4, NCCL_FLOAT16 = 6, NCCL_FLOAT32 = 7,
            NCCL_FLOAT64 = 8, NCCL_BFLOAT16 = 9;

    public static final int UNIQUE_ID_BYTES = 128;

    private final int worldSize, rank, device;
    private final NcclLoader.Loaded nccl;
    private long comm;

    private NcclCommunicator(long comm, int worldSize, int rank, int device, NcclLoader.Loaded nccl) {
        this.comm = comm;
        this.worldSize = worldSize;
        this.rank = rank;
        this.device = device;
        this.nccl = nccl;
    }

    /** The NCCL in use, loading it if needed; throws {@link NcclLoader.NcclNotFoundException} naming where it looked. */
    public static NcclLoader.Loaded library() {
        return NcclLoader.load();
    }

    /** A fresh rendezvous id (ncclGetUniqueId), made once by rank 0 and handed to every rank. */
    public static byte[] uniqueId() {
        library();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment id = a.allocate(UNIQUE_ID_BYTES);
            check(Nccl.ncclGetUniqueId(id), "ncclGetUniqueId", "", 0);
            return id.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** Joins the communicator of worldSize ranks named by id as rank, on CUDA device cudaDevice (ncclCommInitRank). */
    public static NcclCommunicator create(byte[] id, int worldSize, int rank, int cudaDevice) {
        if (id == null || id.length != UNIQUE_ID_BYTES) {
            throw new IllegalArgumentException("an NCCL unique id has " + UNIQUE_ID_BYTES + " bytes, got "
                    + (id == null ? "null" : id.length));
        }
        if (worldSize < 1) throw new IllegalArgumentException("worldSize must be >= 1, got " + worldSize);
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank must be in [0, " + worldSize + "), got " + rank);
        }
        if (cudaDevice < 0) throw new IllegalArgumentException("cudaDevice must be >= 0, got " + cudaDevice);
        NcclLoader.Loaded nccl = library();
        if (!Torch.cudaAvailable()) {
            throw new NcclException("NCCL needs CUDA, and the loaded libtorch (" + Torch.info().directory()
                    + ") sees no CUDA device; set LIBTORCH to a CUDA libtorch");
        }
        int devices = Torch.cudaDeviceCount();
        if (cudaDevice >= devices) {
            throw new IllegalArgumentException("cudaDevice " + cudaDevice + " does not exist: " + devices + " CUDA device(s)");
        }
        try (Arena a = Arena.ofConfined(); var guard = Torch.useCudaDevice(cudaDevice)) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            MemorySegment commId = a.allocate(UNIQUE_ID_BYTES);
            MemorySegment.copy(id, 0, commId, ValueLayout.JAVA_BYTE, 0, UNIQUE_ID_BYTES);
            check(Nccl.ncclCommInitRank(out, worldSize, commId, rank), "ncclCommInitRank",
                    " (rank " + rank + " of " + worldSize + ", cuda:" + cudaDevice + ")", 0);
            return new NcclCommunicator(out.get(ValueLayout.JAVA_LONG, 0), worldSize, rank, cudaDevice, nccl);
        }
    }

    public int rank() { return rank; }

    public int worldSize() { return worldSize; }

    public Device device() { return Device.cuda(device); }

    // ---- Collectives ----

    /** Reduces t across all ranks with op, leaving the result in t on every rank (ncclAllReduce, in place). */
    public void allReduce(Tensor t, ReduceOp op) {
        long c = live("allReduce");
        checkTensor("allReduce", t, device);
        int type = ncclDataType("allReduce", t.dtype());
        int code = reduceCode(t.dtype(), op);
        long p = t.dataAddress();
        try (var guard = Torch.useCudaDevice(device)) {
            check(Nccl.ncclAllReduce(MemorySegment.ofAddress(p), MemorySegment.ofAddress(p), t.numel(), type, code,
                    MemorySegment.ofAddress(c), stream()), "ncclAllReduce", where() + " " + describe(t) + " " + op, c);
        } finally {
            Reference.reachabilityFence(t); // its memory is in use until the call has queued the collective
        }
    }

    /** Copies root's t into t on every other rank (ncclBroadcast, in place). */
    public void broadcast(Tensor t, int root) {
        long c = live("broadcast");
        if (root < 0 || root >= worldSize) throw new IllegalArgumentException("root must be in [0, " + worldSize + "), got " + root);
        checkTensor("broadcast", t, device);
        int type = ncclDataType("broadcast", t.dtype());
        long p = t.dataAddress();
        try (var guard = Torch.useCudaDevice(device)) {
            check(Nccl.ncclBroadcast(MemorySegment.ofAddress(p), MemorySegment.ofAddress(p), t.numel(), type, root,
                    MemorySegment.ofAddress(c), stream()), "ncclBroadcast", where() + " " + describe(t) + " root " + root, c);
        } finally {
            Reference.reachabilityFence(t);
        }
    }

    /**
     * Gathers every rank's in into out, rank i's elements at offset i * in.numel() (ncclAllGather). out has the dtype of
     * in and worldSize times its elements, e.g. shape [worldSize, ...in.shape].
     */
    public void allGather(Tensor in, Tensor out) {
        long c = live("allGather");
        checkTensor("allGather", in, device);
        checkTensor("allGather", out, device);
        if (in.dtype() != out.dtype()) {
            throw new IllegalArgumentException("allGather: out is " + out.dtype() + " but in is " + in.dtype());
        }
        if (out.numel() != in.numel() * worldSize) {
            throw new IllegalArgumentException("allGather: out needs " + worldSize + " x " + in.numel() + " = "
                    + in.numel() * worldSize + " elements, has " + out.numel());
        }
        int type = ncclDataType("allGather", in.dtype());
        try (var guard = Torch.useCudaDevice(device)) {
            check(Nccl.ncclAllGather(MemorySegment.ofAddress(in.dataAddress()), MemorySegment.ofAddress(out.dataAddress()),
                    in.numel(), type, MemorySegment.ofAddress(c), stream()), "ncclAllGather", where() + " " + describe(in), c);
        } finally {
            Reference.reachabilityFence(in);
            Reference.reachabilityFence(out);
        }
    }

    /**
     * Starts a group: collectives issued until {@link #groupEnd()} are launched together (one launch for many
     * gradient buckets). Groups are per thread and span communicators, as in NCCL.
     */
    public void groupStart() {
        live("groupStart");
        check(Nccl.ncclGroupStart(), "ncclGroupStart", where(), 0);
    }

    public void groupEnd() {
        long c = live("groupEnd");
        check(Nccl.ncclGroupEnd(), "ncclGroupEnd", where(), c);
    }

    /** Throws if NCCL has recorded an asynchronous error on this communicator (a peer died, a network failure). */
    public void checkAsyncError() {
        long c = live("checkAsyncError");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_INT);
            check(Nccl.ncclCommGetAsyncError(MemorySegment.ofAddress(c), out), "ncclCommGetAsyncError", where(), c);
            int async = out.get(ValueLayout.JAVA_INT, 0);
            if (async != 0 && async != 7 /* ncclInProgress: still initializing, not an error */) {
                throw new NcclException(failure("asynchronous error", where(), async, c));
            }
        }
    }

    /** Ends this communicator at once, cancelling what is queued: for when a peer failed. Safe to call twice. */
    public void abort() {
        long c = comm;
        if (c == 0) return;
        comm = 0;
        check(Nccl.ncclCommAbort(MemorySegment.ofAddress(c)), "ncclCommAbort", where(), 0);
    }

    /** Frees the communicator (ncclCommDestroy) after its queued work. Closing twice, or after abort, is harmless. */
    @Override
    public void close() {
        long c = comm;
        if (c == 0) return;
        comm = 0;
        check(Nccl.ncclCommDestroy(MemorySegment.ofAddress(c)), "ncclCommDestroy", where(), 0);
    }

    public boolean isClosed() { return comm == 0; }

    @Override
    public String toString() {
        return "NcclCommunicator[rank " + rank + " of " + worldSize + ", cuda:" + device + ", NCCL " + nccl.version()
                + (comm == 0 ? ", closed" : "") + "]";
    }

    // ---- Checks and mapping, usable without NCCL ----

    /** The ncclDataType_t of a dtype; int16 and complex64 have none and are refused. */
    static int ncclDataType(String call, DType d) {
        return switch (d) {
            case FLOAT32 -> NCCL_FLOAT32;
            case FLOAT64 -> NCCL_FLOAT64;
            case BFLOAT16 -> NCCL_BFLOAT16;
            case FLOAT16 -> NCCL_FLOAT16;
            case INT64 -> NCCL_INT64;
            case INT32 -> NCCL_INT32;
            case INT8 -> NCCL_INT8;
            case UINT8, BOOL -> NCCL_UINT8; // bool is one byte 0 or 1, as PyTorch sends it
            case INT16, COMPLEX64 -> throw new IllegalArgumentException(call + ": NCCL has no " + d
                    + " type; convert the tensor (e.g. to float32) first");
        };
    }

    /** The ncclRedOp_t for op on dtype d. On bool, SUM is MAX (logical or) and PROD is MIN (logical and). */
    static int reduceCode(DType d, ReduceOp op) {
        if (op == null) throw new IllegalArgumentException("allReduce: op is null");
        if (d == DType.BOOL) {
            return switch (op) {
                case SUM, MAX -> ReduceOp.MAX.code;
                case PROD, MIN -> ReduceOp.MIN.code;
                case AVG -> throw new IllegalArgumentException("allReduce: AVG of a bool tensor is not defined");
            };
        }
        return op.code;
    }

    /** Refuses what NCCL cannot take: closed, CPU or other-device tensors, and non-contiguous ones. */
    static void checkTensor(String call, Tensor t, int device) {
        if (t == null) throw new IllegalArgumentException(call + ": tensor is null");
        if (t.isClosed()) throw new IllegalStateException(call + ": tensor used after close");
        Device d = t.device();
        if (d.type() != Device.Type.CUDA || d.index() != device) {
            throw new IllegalArgumentException(call + " needs a contiguous CUDA tensor on cuda:" + device + " (this"
                    + " communicator's device), got a " + t.dtype() + " tensor on " + describe(d) + "; move it with .to(cuda:"
                    + device + ")");
        }
        if (!t.isContiguous()) {
            throw new IllegalArgumentException(call + " needs a contiguous tensor, got one with shape "
                    + java.util.Arrays.toString(t.shape()) + " and strides " + java.util.Arrays.toString(t.strides())
                    + "; call .contiguous() and copy the result back");
        }
    }

    private static String describe(Device d) {
        return d.type() == Device.Type.CUDA ? "cuda:" + d.index() : d.type().name().toLowerCase(java.util.Locale.ROOT);
    }

    private static String describe(Tensor t) {
        return t.dtype() + java.util.Arrays.toString(t.shape());
    }

    private long live(String call) {
        long c = comm;
        if (c == 0) throw new IllegalStateException(call + ": the NCCL communicator of rank " + rank + " is closed");
        return c;
    }

    private long streamFor() {
        return Torch.currentCudaStream(device);
    }

    private MemorySegment stream() {
        return MemorySegment.ofAddress(streamFor());
    }

    private String where() {
        return " (rank " + rank + " of " + worldSize + ", cuda:" + device + ")";
    }

    // ---- Errors ----

    private static void check(int rc, String call, String where, long comm) {
        if (rc != 0) throw new NcclException(failure(call, where, rc, comm));
    }

    static String resultName(int rc) {
        return rc >= 0 && rc < RESULTS.length ? RESULTS[rc] : "ncclResult_t " + rc;
    }

    private static String failure(String call, String where, int rc, long comm) {
        StringBuilder m = new StringBuilder(call).append(where).append(" failed: ").append(resultName(rc));
        try {
            MemorySegment s = Nccl.ncclGetErrorString(rc);
            if (s.address() != 0) m.append(" (").append(s.reinterpret(4096).getString(0, StandardCharsets.UTF_8)).append(')');
        } catch (Throwable ignored) {
            // the name of the result is enough
        }
        if (SymbolLookup.loaderLookup().find("ncclGetLastError").isPresent()) {
            try {
                MemorySegment s = Nccl.ncclGetLastError(MemorySegment.ofAddress(comm));
                String last = s.address() == 0 ? "" : s.reinterpret(4096).getString(0, StandardCharsets.UTF_8).strip();
                if (!last.isEmpty()) m.append("; NCCL's last error: ").append(last);
            } catch (Throwable ignored) {
                // older NCCL
            }
        }
        if (rc == 1 || rc == 2 || rc == 3 || rc == 6) m.append(". Run with NCCL_DEBUG=INFO for NCCL's own log");
        return m.toString();
    }

    /** A failed NCCL call; the message names the call, the rank and NCCL's reason. */
    public static final class NcclException extends RuntimeException {
        public NcclException(String message) { super(message); }
    }
}
