package io.higgs4j.torch;


import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;

/**
 * A libtorch tensor. Each instance owns one native handle and frees it on {@link #close()}; a {@link Scope} closes
 * the tensors created inside it. Closing twice is harmless; any other use after close throws.
 *
 * <p>Ops mirror torch.Tensor's names and semantics (broadcasting, type promotion, autograd). Cheap checks (shapes,
 * dtypes, devices of the common ops) run in Java before the call; anything libtorch refuses becomes a
 * {@link TorchException} naming the op, its arguments and libtorch's reason.
 *
 * <p>Threads: a tensor may be used from any thread, and read by several at once (ops that make new tensors). Changing
 * it in place ({@link #copy_}, {@link #fill_}, {@link #zero_}, {@link #requiresGrad(boolean)}, {@link #resetGrad},
 * optimizer steps) while another thread uses it is a data race the caller must prevent. {@link #close()} may come from
 * any thread: it waits for calls running on the tensor on other threads, and calls after it throw
 * {@link IllegalStateException}; the Cleaner that frees forgotten tensors waits the same way. Which {@link Scope} owns a
 * tensor is decided on the thread that creates it.
 */
public final class Tensor implements AutoCloseable {

    private final HandleRef ref;
    private final Cleaner.Cleanable cleanable;
    Scope scope;
    /**
     * Shape, dtype and device, read once and kept: the typed ops never change them in place. The escape hatch's in-place
     * ops can ({@code aten::set_}, {@code set_data}, {@code resize_}, {@code squeeze_}, ...), on every handle to the
     * tensor, {@link #share}d ones included; each such call moves {@link #METADATA_EPOCH}, and what was read under an
     * older one is read again.
     */
    private Cached<long[]> shape;
    private Cached<DType> dtype;
    private Cached<Device> device;
    private record Cached<T>(T value, long epoch) {}
    private static final AtomicLong METADATA_EPOCH = new AtomicLong();

    private Tensor(long handle, Object keepAlive) {
        this(handle, keepAlive, true);
    }

    /** tracked: registered with the Cleaner, counted live and owned by the current Scope; else the caller closes it. */
    private Tensor(long handle, Object keepAlive, boolean tracked) {
        if (handle == 0) throw new TorchException("libtorch returned a null tensor handle");
        this.ref = new HandleRef(handle, keepAlive);
        this.cleanable = tracked ? ref.register(this) : null;
        Scope s = tracked ? Scope.current() : null;
        if (s != null) s.register(this);
    }

    /** Takes ownership of a handle returned by libtorch. */
    static Tensor adopt(long handle) {
        return new Tensor(handle, null);
    }

    /**
     * Takes ownership of a handle for one op, which the caller closes right after (try-with-resources): no Scope owns
     * it, no Cleaner watches it and {@link #liveCount()} does not count it, so a scalar argument costs no more than the
     * bare handle it replaces.
     */
    static Tensor adoptTransient(long handle) {
        return new Tensor(handle, null, false);
    }

    /**
     * The native handle, kept from being freed until the matching {@link #release()}: every native use of the handle
     * sits between the two, release in a finally. Throws if this tensor was closed.
     */
    long acquire() {
        if (!ref.acquire()) {
            throw new IllegalStateException("tensor used after close" + (shape != null ? " (" + describeCached() + ")" : ""));
        }
        return ref.handle;
    }

    /** The handle of a tensor the caller holds (between {@link #acquire} and {@link #release}). */
    long heldHandle() {
        return ref.handle;
    }

    /**
     * The handle for the dispatcher to consume, this tensor being held by the call: a scalar made for this one op
     * (untracked) gives its own away, once; any other tensor gets a new handle to it.
     */
    long handleToConsume() {
        long h = cleanable == null ? ref.handOver() : 0;
        return h != 0 ? h : Native.newHandle(ref.handle);
    }

    void release() {
        ref.release();
        // The Ref keeps the handle alive on its own; this keeps the Tensor (and so its cached metadata) as well.
        Reference.reachabilityFence(this);
    }

    /** Whether {@link #close()} has run. */
    public boolean isClosed() {
        return ref.closed();
    }

    /**
     * Frees the native tensor (closing twice is harmless). A call using this tensor on another thread at this moment
     * finishes first: close waits for it; calls started after close throw.
     */
    @Override
    public void close() {
        if (cleanable == null) ref.closeUntracked();
        else ref.closeExplicitly(cleanable);
    }

    /** Tensors alive now (created and not yet freed), in this JVM. */
    public static long liveCount() {
        return HandleRef.live();
    }

    /** Tensors that were never closed and were freed by the garbage collector's safety net. */
    public static long leakedCount() {
        return HandleRef.leaked();
    }

    // =====================================================================================================
    // Creation
    // =====================================================================================================

    static long[] contiguousStrides(long[] shape) {
        long[] strides = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = s;
            s *= Math.max(shape[i], 1);
        }
        return strides;
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than 2^63 elements");
            }
        }
        return n;
    }

    /** An uninitialised tensor. */
    public static Tensor empty(long[] shape, DType dtype, Device device) {
        numel(shape);
        device.checkAvailable();
        long[] strides = contiguousStrides(shape);
        return adopt(Native.emptyStrided(shape, strides, dtype.code(), device.typeCode(), device.indexCode(),
                () -> "empty(" + Arrays.toString(shape) + ", " + dtype + ", " + device + ")"));
    }

    /** A tensor of zeros. */
    public static Tensor zeros(long[] shape, DType dtype, Device device) {
        numel(shape);
        device.checkAvailable();
        return Ops.zeros(shape, dtype, device, null);
    }

    /** A float32 CPU tensor of zeros. */
    public static Tensor zeros(long... shape) {
        return zeros(shape, DType.FLOAT32, Device.CPU);
    }

    /** A tensor of ones. */
    public static Tensor ones(long[] shape, DType dtype, Device device) {
        numel(shape);
        device.checkAvailable();
        return Ops.ones(shape, dtype, device, null);
    }

    /** A float32 CPU tensor of ones. */
    public static Tensor ones(long... shape) {
        return ones(shape, DType.FLOAT32, Device.CPU);
    }

    /** A tensor filled with value. */
    public static Tensor full(long[] shape, double value, DType dtype, Device device) {
        numel(shape);
        device.checkAvailable();
        return adopt(Native.full(shape, value, dtype.code(), device.typeCode(), device.indexCode(),
                () -> "aten::full(" + Arrays.toString(shape) + ", " + value + ", " + dtype + ", " + device + ")"));
    }

    /** Zeros of t's shape, dtype and device. */
    public static Tensor zerosLike(Tensor t) {
        return zeros(t.shape(), t.dtype(), t.device());
    }

    /** Ones of t's shape, dtype and device. */
    public static Tensor onesLike(Tensor t) {
        return ones(t.shape(), t.dtype(), t.device());
    }

    /** 0, 1, ..., end-1 as int64. */
    public static Tensor arange(long end) {
        return arange(0, end, 1);
    }

    /** start, start+step, ... up to (not including) end, as int64. */
    public static Tensor arange(long start, long end, long step) {
        if (step == 0) throw new IllegalArgumentException("arange: step must not be 0");
        // In BigInteger: end - start overflows a long for ranges wider than 2^63
        BigInteger distance = BigInteger.valueOf(end).subtract(BigInteger.valueOf(start));
        BigInteger count = distance.add(BigInteger.valueOf(step - Long.signum(step))).divide(BigInteger.valueOf(step));
        int n = arangeLength(count.max(BigInteger.ZERO).min(BigInteger.valueOf(Integer.MAX_VALUE)).longValueExact(),
                start + ", " + end + ", " + step);
        long[] v = new long[n];
        for (int i = 0; i < n; i++) v[i] = start + i * step;
        return of(v, n);
    }

    /** The values are made in a Java array: refuse more than one can hold, naming the range. */
    private static int arangeLength(long n, String range) {
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("arange(" + range + "): at least " + n + " values, more than "
                    + (Integer.MAX_VALUE - 8) + " (arange builds its values in a Java array)");
        }
        return (int) n;
    }

    /** start, start+step, ... below end, as float32 (like torch.arange with float arguments). */
    public static Tensor arange(double start, double end, double step) {
        if (step == 0) throw new IllegalArgumentException("arange: step must not be 0");
        if (!Double.isFinite(start) || !Double.isFinite(end) || !Double.isFinite(step)) {
            throw new IllegalArgumentException("arange: start, end and step must be finite, got " + start + ", " + end + ", " + step);
        }
        double count = Math.ceil((end - start) / step); // a double: the long cast saturates, as arangeLength needs
        int n = arangeLength(Math.max(0, (long) count), start + ", " + end + ", " + step);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (start + i * step);
        return of(v, n);
    }

    /** Uniform on [0, 1). Reproducible after {@link Torch#manualSeed}. */
    public static Tensor rand(long[] shape, DType dtype, Device device) {
        numel(shape);
        device.checkAvailable();
        return Ops.rand(shape, dtype, device, null);
    }

    /** A float32 CPU tensor drawn uniformly from [0, 1). */
    public static Tensor rand(long... shape) {
        return rand(shape, DType.FLOAT32, Device.CPU);
    }

    /** Standard normal. Reproducible after {@link Torch#manualSeed}. */
    public static Tensor randn(long[] shape, DType dtype, Device device) {
        numel(shape);
        device.checkAvailable();
        return Ops.randn(shape, dtype, device, null);
    }

    /** A float32 CPU tensor drawn from the standard normal. */
    public static Tensor randn(long... shape) {
        return randn(shape, DType.FLOAT32, Device.CPU);
    }

    /** A float32 tensor of the given shape holding a copy of data (row-major). */
    public static Tensor of(float[] data, long... shape) {
        return copyOf(MemorySegment.ofArray(data), DType.FLOAT32, shapeOr(shape, data.length));
    }

    /** A float64 tensor of the given shape holding a copy of data (row-major). */
    public static Tensor of(double[] data, long... shape) {
        return copyOf(MemorySegment.ofArray(data), DType.FLOAT64, shapeOr(shape, data.length));
    }

    /** An int64 tensor of the given shape holding a copy of data (row-major). */
    public static Tensor of(long[] data, long... shape) {
        return copyOf(MemorySegment.ofArray(data), DType.INT64, shapeOr(shape, data.length));
    }

    /** An int32 tensor of the given shape holding a copy of data (row-major). */
    public static Tensor of(int[] data, long... shape) {
        return copyOf(MemorySegment.ofArray(data), DType.INT32, shapeOr(shape, data.length));
    }

    /** A bool tensor of the given shape holding a copy of data (row-major). */
    public static Tensor of(boolean[] data, long... shape) {
        byte[] bytes = new byte[data.length];
        for (int i = 0; i < data.length; i++) bytes[i] = (byte) (data[i] ? 1 : 0);
        return copyOf(MemorySegment.ofArray(bytes), DType.BOOL, shapeOr(shape, data.length));
    }

    /** A 0-dim float32 tensor. */
    public static Tensor scalar(double value) {
        return copyOf(MemorySegment.ofArray(new float[] {(float) value}), DType.FLOAT32);
    }

    /** No shape given means a 1-d tensor of the data's length, as torch.tensor([...]) gives; {@link #scalar} is 0-dim. */
    private static long[] shapeOr(long[] shape, int length) {
        return shape.length == 0 ? new long[] {length} : shape;
    }

    /** A CPU tensor holding a copy of the bytes of src, read as dtype elements in native byte order. */
    public static Tensor copyOf(MemorySegment src, DType dtype, long... shape) {
        return HostTransfer.copyOf(src, dtype, shape);
    }

    /**
     * A CPU tensor over src without a copy where that is safe: src is native memory, aligned to the element size, and
     * belongs to the global arena (never freed, so no view of it can outlive it). Otherwise the data is copied.
     */
    public static Tensor fromSegment(MemorySegment src, DType dtype, long... shape) {
        boolean safe = src.isNative() && src.address() % dtype.elementSize() == 0
                && src.scope().equals(Arena.global().scope());
        if (!safe) return copyOf(src, dtype, shape);
        long bytes = numel(shape) * dtype.elementSize();
        if (src.byteSize() != bytes) {
            throw new IllegalArgumentException("segment holds " + src.byteSize() + " bytes but shape " + Arrays.toString(shape)
                    + " of " + dtype + " needs " + bytes);
        }
        return new Tensor(Native.fromBlob(src, shape, contiguousStrides(shape), dtype.code()), src);
    }

    // =====================================================================================================
    // Metadata
    // =====================================================================================================

    /** The sizes of every dimension (a copy). */
    public long[] shape() {
        return shapeRef().clone();
    }

    /** The shape itself, not a copy: for reading in this package only. Throws once the tensor is closed. */
    long[] shapeRef() {
        Cached<long[]> s = shape;
        if (!valid(s)) shape = s = read(Native::sizes);
        return s.value;
    }

    /** Whether c was read under the present epoch, and this tensor is still open (a closed one throws on reading). */
    private boolean valid(Cached<?> c) {
        return c != null && c.epoch == METADATA_EPOCH.get() && !ref.closed();
    }

    /** reader's value for this tensor's handle, stamped with the epoch it was read under. */
    private <T> Cached<T> read(LongFunction<T> reader) {
        long epoch = METADATA_EPOCH.get(); // before the read: a change during it leaves the value stale under an old epoch
        long h = acquire();
        try {
            return new Cached<>(reader.apply(h), epoch);
        } finally {
            release();
        }
    }

    /** An escape-hatch call may have changed some tensor in place: every cached shape, dtype and device is read again. */
    static void metadataMayHaveChanged() {
        METADATA_EPOCH.incrementAndGet();
    }

    /** The number of dimensions. */
    public int dim() {
        return shapeRef().length;
    }

    /** Size of dimension d; negative d counts from the end. */
    public long size(int d) {
        long[] s = shapeRef();
        return s[Checks.normDim(d, s.length)];
    }

    /** The number of elements. */
    public long numel() {
        return numel(shapeRef());
    }

    /** The element type. */
    public DType dtype() {
        Cached<DType> d = dtype;
        if (!valid(d)) dtype = d = read(h -> DType.fromCode(Native.dtypeCode(h)));
        return d.value;
    }

    /** The device the data lives on. */
    public Device device() {
        Cached<Device> d = device;
        if (!valid(d)) device = d = read(Native::device);
        return d.value;
    }

    /** The strides of every dimension, in elements. */
    public long[] strides() {
        long h = acquire();
        try {
            return Native.strides(h);
        } finally {
            release();
        }
    }

    /** Whether the elements are laid out densely in row-major order. */
    public boolean isContiguous() {
        long h = acquire();
        try {
            return Native.isContiguous(h);
        } finally {
            release();
        }
    }

    /**
     * The address of this tensor's first element (its storage plus offset), for native libraries that work on device
     * memory directly (NCCL). Valid while the tensor is open and its storage is not replaced; never dereference a CUDA
     * address on the host.
     */
    public long dataAddress() {
        long h = acquire();
        try {
            return Native.dataPtr(h);
        } finally {
            release();
        }
    }

    /**
     * A handle to what this tensor is now (its storage, offset, sizes and strides), for {@link #restore}: a new handle
     * on the same TensorImpl would follow the tensor's changes; an alias keeps its own.
     */
    Tensor snapshot() {
        try (var g = Torch.noGrad()) {
            return Ops.alias(this);
        }
    }

    /**
     * Makes this tensor again what snapshot was taken of, after a failed in-place op changed it. libtorch's resize_
     * sets the new sizes before it allocates, and set_ may swap in a storage first: when the allocation fails, the
     * tensor is left claiming more elements than its storage holds, and the next op that reads it runs off the end
     * (PyTorch itself segfaults there).
     */
    void restore(Tensor snapshot) {
        try (var g = Torch.noGrad(); Tensor self = Ops.set__source_Tensor(this, snapshot)) {
            // the op works on this tensor in place; its result is one more handle to it
        }
    }

    String describe() {
        if (isClosed()) return "Tensor(closed)";
        return dtype() + Arrays.toString(shapeRef()) + (device().type() == Device.Type.CPU ? "" : " " + device());
    }

    private String describeCached() {
        Cached<long[]> s = shape;
        Cached<DType> d = dtype;
        return (d != null ? d.value.toString() : "") + (s != null ? Arrays.toString(s.value) : "");
    }

    @Override
    public String toString() {
        if (isClosed()) return "Tensor(closed)";
        StringBuilder sb = new StringBuilder("Tensor(").append(describe());
        if (device().type() != Device.Type.META && numel() <= 16) {
            try (var g = Torch.noGrad()) {
                sb.append(", ").append(Arrays.toString(toDoubleArray()));
            }
        }
        if (requiresGrad()) sb.append(", requires_grad");
        return sb.append(')').toString();
    }

    // =====================================================================================================
    // Reading values back
    // =====================================================================================================

    /** The elements, converted to float32, copied to a Java array (row-major). */
    public float[] toFloatArray() {
        return HostTransfer.toFloatArray(this);
    }

    /** The elements, converted to float64, copied to a Java array (row-major). */
    public double[] toDoubleArray() {
        return HostTransfer.toDoubleArray(this);
    }

    /** The elements, converted to int64, copied to a Java array (row-major). */
    public long[] toLongArray() {
        return HostTransfer.toLongArray(this);
    }

    /** The elements, converted to int32, copied to a Java array (row-major). */
    public int[] toIntArray() {
        return HostTransfer.toIntArray(this);
    }

    /** The elements, converted to bool, copied to a Java array (row-major). */
    public boolean[] toBooleanArray() {
        return HostTransfer.toBooleanArray(this);
    }

    /**
     * Copies this tensor's elements into dst, row-major, in this tensor's own dtype and native byte order: the raw
     * bytes a file format stores. Works from any device and any strides (a non-contiguous or device tensor is first
     * copied to a contiguous CPU tensor, freed before this returns). dst, heap or native memory, must hold exactly
     * {@code numel() * dtype().elementSize()} bytes.
     */
    public void copyTo(MemorySegment dst) {
        HostTransfer.copyTo(this, dst);
    }

    /** The value of a one-element tensor. */
    public double item() {
        if (numel() != 1) throw new TorchException("item() needs a tensor with one element, got " + describe());
        long h = acquire();
        try {
            return Native.itemDouble(h, () -> "item(" + describe() + ")");
        } finally {
            release();
        }
    }

    /** The value of a one-element tensor, as a long. */
    public long itemLong() {
        if (numel() != 1) throw new TorchException("itemLong() needs a tensor with one element, got " + describe());
        long h = acquire();
        try {
            return Native.itemLong(h, () -> "item(" + describe() + ")");
        } finally {
            release();
        }
    }

    // =====================================================================================================
    // Views and shape
    // =====================================================================================================

    /** A view with the given shape; one dimension may be -1. Needs compatible strides (see {@link #reshape}). */
    public Tensor view(long... newShape) {
        Checks.reshape("view", this, newShape);
        return Ops.view(this, newShape);
    }

    /** The same elements in another shape (one size may be -1); a view where the strides allow, else a copy. */
    public Tensor reshape(long... newShape) {
        Checks.reshape("reshape", this, newShape);
        return Ops.reshape(this, newShape);
    }

    /** The elements as one dimension. */
    public Tensor flatten() {
        return reshape(-1);
    }

    /** A view with dimensions dim0 and dim1 swapped. */
    public Tensor transpose(int dim0, int dim1) {
        int r = dim();
        return Ops.transpose_int(this, Checks.normDim(dim0, r), Checks.normDim(dim1, r));
    }

    /** Transpose of the last two dimensions. */
    public Tensor mT() {
        return transpose(-2, -1);
    }

    /** A view with the dimensions reordered. */
    public Tensor permute(long... dims) {
        if (dims.length != dim()) {
            throw new TorchException("permute: " + dims.length + " dims given for " + describe());
        }
        return Ops.permute(this, dims);
    }

    /** Elements start..end-1 (clamped like Python slices; negative indices count from the end) along dim, with step. */
    public Tensor slice(int dim, long start, long end, long step) {
        if (step <= 0) throw new TorchException("slice: step must be positive, got " + step);
        return Ops.slice_Tensor(this, Checks.normDim(dim, dim()), start, end, step);
    }

    /** A view of the elements start (inclusive) to end (exclusive) along dim. */
    public Tensor slice(int dim, long start, long end) {
        return slice(dim, start, end, 1);
    }

    /** A view of length elements from start along dim. */
    public Tensor narrow(int dim, long start, long length) {
        int d = Checks.normDim(dim, dim());
        long size = size(d);
        long s = start < 0 ? start + size : start;
        if (s < 0 || length < 0 || s + length > size) {
            throw new TorchException("narrow: start " + start + " length " + length + " out of range for dim " + d + " of " + describe());
        }
        return Ops.narrow(this, d, s, length);
    }

    /** The sub-tensor at index along dim, with that dimension removed. */
    public Tensor select(int dim, long index) {
        int d = Checks.normDim(dim, dim());
        long size = size(d);
        if (index < -size || index >= size) {
            throw new TorchException("select: index " + index + " out of range for dim " + d + " of " + describe());
        }
        return Ops.select_int(this, d, index);
    }

    /** A view with a dimension of size 1 inserted at dim. */
    public Tensor unsqueeze(int dim) {
        int r = dim() + 1;
        if (dim < -r || dim >= r) throw new TorchException("unsqueeze: dimension " + dim + " out of range for " + describe());
        return Ops.unsqueeze(this, dim < 0 ? dim + r : dim);
    }

    /** A view without dimension dim, if its size is 1. */
    public Tensor squeeze(int dim) {
        return Ops.squeeze_dim(this, Checks.normDim(dim, dim()));
    }

    /** A view without any dimension of size 1. */
    public Tensor squeeze() {
        return Ops.squeeze(this);
    }

    /** Broadcasts size-1 dimensions to the given sizes without copying; -1 keeps a dimension. */
    public Tensor expand(long... sizes) {
        long[] s = shapeRef();
        if (sizes.length < s.length) throw new TorchException("expand: " + Arrays.toString(sizes) + " has fewer dims than " + describe());
        for (int i = 0; i < s.length; i++) {
            long want = sizes[sizes.length - s.length + i];
            if (want != -1 && s[i] != 1 && s[i] != want) {
                throw new TorchException("expand: cannot expand " + describe() + " to " + Arrays.toString(sizes));
            }
        }
        return Ops.expand(this, sizes, false);
    }

    /** This tensor's elements laid out densely in row-major order (a copy only when they are not). */
    public Tensor contiguous() {
        return Ops.contiguous(this, Native.CONTIGUOUS_FORMAT);
    }

    // =====================================================================================================
    // Arithmetic
    // =====================================================================================================

    /** Element-wise sum, with broadcasting. */
    public Tensor add(Tensor other) {
        return add(other, 1.0);
    }

    /** this + alpha * other. */
    public Tensor add(Tensor other, double alpha) {
        Checks.binary("add", this, other);
        return Scalars.add(this, other, alpha);
    }

    /** Adds value to every element. */
    public Tensor add(double value) {
        return Scalars.add(this, value);
    }

    /** Element-wise difference, with broadcasting. */
    public Tensor sub(Tensor other) {
        return add(other, -1.0);
    }

    /** Subtracts value from every element. */
    public Tensor sub(double value) {
        return add(-value);
    }

    /** value - this. */
    public Tensor rsub(double value) {
        return neg().add(value);
    }

    /** Element-wise product, with broadcasting. */
    public Tensor mul(Tensor other) {
        Checks.binary("mul", this, other);
        return Ops.mul_Tensor(this, other);
    }

    /** Multiplies every element by value. */
    public Tensor mul(double value) {
        try (Tensor s = Scalars.tensor(this, value)) {
            return Ops.mul_Tensor(this, s);
        }
    }

    /** Element-wise quotient, with broadcasting. */
    public Tensor div(Tensor other) {
        Checks.binary("div", this, other);
        return Ops.div_Tensor(this, other);
    }

    /** Divides every element by value. */
    public Tensor div(double value) {
        try (Tensor s = Scalars.tensor(this, value)) {
            return Ops.div_Tensor(this, s);
        }
    }

    /** Every element raised to exponent. */
    public Tensor pow(double exponent) {
        try (Tensor s = Scalars.tensor(this, exponent)) {
            return Ops.pow_Tensor_Tensor(this, s);
        }
    }

    /** Element-wise power, with broadcasting. */
    public Tensor pow(Tensor exponent) {
        Checks.binary("pow", this, exponent);
        return Ops.pow_Tensor_Tensor(this, exponent);
    }

    /** Element-wise negation. */
    public Tensor neg() { return Ops.neg(this); }
    /** Element-wise absolute value. */
    public Tensor abs() { return Ops.abs(this); }
    /** Element-wise square root. */
    public Tensor sqrt() { return Ops.sqrt(this); }
    /** Element-wise reciprocal square root. */
    public Tensor rsqrt() { return Ops.rsqrt(this); }
    /** Element-wise e^x. */
    public Tensor exp() { return Ops.exp(this); }
    /** Element-wise natural logarithm. */
    public Tensor log() { return Ops.log(this); }
    /** Element-wise sine. */
    public Tensor sin() { return Ops.sin(this); }
    /** Element-wise cosine. */
    public Tensor cos() { return Ops.cos(this); }
    /** Element-wise hyperbolic tangent. */
    public Tensor tanh() { return Ops.tanh(this); }
    /** Element-wise logistic sigmoid. */
    public Tensor sigmoid() { return Ops.sigmoid(this); }
    /** Element-wise max(x, 0). */
    public Tensor relu() { return Ops.relu(this); }
    /** Element-wise Gauss error function. */
    public Tensor erf() { return Ops.erf(this); }
    /** Element-wise x * sigmoid(x). */
    public Tensor silu() { return Ops.silu(this); }

    /** GELU, exact (erf) form. */
    public Tensor gelu() { return gelu(false); }

    /** GELU; tanhApproximation selects the tanh form ("gelu_pytorch_tanh"). */
    public Tensor gelu(boolean tanhApproximation) {
        return StringFreeOps.gelu(this, tanhApproximation);
    }

    /** Clamps into [min, max]. */
    public Tensor clamp(double min, double max) {
        // clamp.Tensor wants its bounds on self's device (a CPU 0-dim bound next to a CUDA tensor is refused).
        try (Tensor low = Scalars.onDevice(this, min); Tensor high = Scalars.onDevice(this, max)) {
            return Ops.clamp_Tensor(this, low, high);
        }
    }

    /** Element-wise this == other, as bool. */
    public Tensor eq(Tensor other) { Checks.binary("eq", this, other); return Ops.eq_Tensor(this, other); }
    /** Element-wise this != other, as bool. */
    public Tensor ne(Tensor other) { Checks.binary("ne", this, other); return Ops.ne_Tensor(this, other); }
    /** Element-wise {@code this < other}, as bool. */
    public Tensor lt(Tensor other) { Checks.binary("lt", this, other); return Ops.lt_Tensor(this, other); }
    /** Element-wise {@code this <= other}, as bool. */
    public Tensor le(Tensor other) { Checks.binary("le", this, other); return Ops.le_Tensor(this, other); }
    /** Element-wise this > other, as bool. */
    public Tensor gt(Tensor other) { Checks.binary("gt", this, other); return Ops.gt_Tensor(this, other); }
    /** Element-wise this >= other, as bool. */
    public Tensor ge(Tensor other) { Checks.binary("ge", this, other); return Ops.ge_Tensor(this, other); }

    /** Element-wise this == v, as bool. */
    public Tensor eq(double v) { return compareScalar(Ops::eq_Tensor, v); }
    /** Element-wise this != v, as bool. */
    public Tensor ne(double v) { return compareScalar(Ops::ne_Tensor, v); }
    /** Element-wise {@code this < v}, as bool. */
    public Tensor lt(double v) { return compareScalar(Ops::lt_Tensor, v); }
    /** Element-wise this > v, as bool. */
    public Tensor gt(double v) { return compareScalar(Ops::gt_Tensor, v); }
    /** Element-wise this >= v, as bool. */
    public Tensor ge(double v) { return compareScalar(Ops::ge_Tensor, v); }
    /** Element-wise {@code this <= v}, as bool. */
    public Tensor le(double v) { return compareScalar(Ops::le_Tensor, v); }

    private Tensor compareScalar(java.util.function.BinaryOperator<Tensor> op, double v) {
        try (Tensor s = Scalars.tensor(this, v)) {
            return op.apply(this, s);
        }
    }

    /** Element-wise logical not, as bool. */
    public Tensor logicalNot() { return Ops.logical_not(this); }

    /** Element-wise logical and, as bool. */
    public Tensor logicalAnd(Tensor other) {
        Checks.binary("logical_and", this, other);
        return Ops.logical_and(this, other);
    }

    /** Element-wise logical or, as bool. */
    public Tensor logicalOr(Tensor other) {
        Checks.binary("logical_or", this, other);
        return Ops.logical_or(this, other);
    }

    // =====================================================================================================
    // Linear algebra
    // =====================================================================================================

    /** Matrix product with torch.matmul's broadcasting rules. */
    public Tensor matmul(Tensor other) {
        long[] a = shapeRef(), b = other.shapeRef();
        if (a.length == 0 || b.length == 0) {
            throw new TorchException("matmul: both arguments need at least one dimension, got " + describe() + " and " + other.describe());
        }
        long k1 = a[a.length - 1];
        long k2 = b.length == 1 ? b[0] : b[b.length - 2];
        if (k1 != k2) {
            throw new TorchException("matmul: inner dimensions differ (" + k1 + " vs " + k2 + ") for " + describe() + " @ " + other.describe());
        }
        Checks.sameDtypeAndDevice("matmul", this, other);
        return Ops.matmul(this, other);
    }

    /** x @ weight^T + bias, with weight [out, in] as in torch.nn.Linear; bias may be null. */
    public Tensor linear(Tensor weight, Tensor bias) {
        long[] x = shapeRef(), w = weight.shapeRef();
        if (w.length != 2 || x.length == 0 || x[x.length - 1] != w[1]) {
            throw new TorchException("linear: input " + describe() + " does not fit weight " + weight.describe() + " ([out, in])");
        }
        Checks.sameDtypeAndDevice("linear", this, weight);
        if (bias != null) {
            if (bias.dim() != 1 || bias.size(0) != w[0]) {
                throw new TorchException("linear: bias " + bias.describe() + " does not fit weight " + weight.describe());
            }
            Checks.sameDtypeAndDevice("linear", this, bias);
        }
        return Ops.linear(this, weight, bias);
    }

    /** x W^T, without a bias. */
    public Tensor linear(Tensor weight) {
        return linear(weight, null);
    }

    // =====================================================================================================
    // Reductions
    // =====================================================================================================

    /** The sum of all elements (0-dim). */
    public Tensor sum() {
        return Ops.sum(this, null);
    }

    /** Sums along dim. */
    public Tensor sum(int dim, boolean keepDim) {
        return sum(new long[] {dim}, keepDim);
    }

    /** Sums along dims. */
    public Tensor sum(long[] dims, boolean keepDim) {
        return Ops.sum_dim_IntList(this, Checks.normDims(this, dims), keepDim, null);
    }

    /** The mean of all elements (0-dim). */
    public Tensor mean() {
        return Ops.mean(this, null);
    }

    /** Means along dim. */
    public Tensor mean(int dim, boolean keepDim) {
        return mean(new long[] {dim}, keepDim);
    }

    /** Means along dims. */
    public Tensor mean(long[] dims, boolean keepDim) {
        return Ops.mean_dim(this, Checks.normDims(this, dims), keepDim, null);
    }

    /** The largest element (0-dim). */
    public Tensor max() {
        return Ops.max(this);
    }

    /** Largest values along dim, and their indices. */
    public List<Tensor> max(int dim, boolean keepDim) {
        return Ops.max_dim(this, Checks.normDim(dim, dim()), keepDim);
    }

    /** The smallest element (0-dim). */
    public Tensor min() {
        return Ops.min(this);
    }

    /** The smallest values along dim and their indices. */
    public List<Tensor> min(int dim, boolean keepDim) {
        return Ops.min_dim(this, Checks.normDim(dim, dim()), keepDim);
    }

    /** The largest values along dim. */
    public Tensor amax(int dim, boolean keepDim) {
        return Ops.amax(this, new long[] {Checks.normDim(dim, dim())}, keepDim);
    }

    /** Index of the largest element of the flattened tensor. */
    public Tensor argmax() {
        return Ops.argmax(this, null, false);
    }

    /** Indices of the largest values along dim. */
    public Tensor argmax(int dim, boolean keepDim) {
        return Ops.argmax(this, (long) Checks.normDim(dim, dim()), keepDim);
    }

    /** Softmax along dim. */
    public Tensor softmax(int dim) {
        return Ops.softmax_int(this, Checks.normDim(dim, dim()), null);
    }

    /** Log-softmax along dim. */
    public Tensor logSoftmax(int dim) {
        return Ops.log_softmax_int(this, Checks.normDim(dim, dim()), null);
    }

    // =====================================================================================================
    // Indexing, joining, masking
    // =====================================================================================================

    /** The slices at index (int64, 1-D) along dim. */
    public Tensor indexSelect(int dim, Tensor index) {
        Checks.index("index_select", index);
        return Ops.index_select(this, Checks.normDim(dim, dim()), index);
    }

    /** Values picked along dim at index (same number of dimensions as this). */
    public Tensor gather(int dim, Tensor index) {
        Checks.index("gather", index);
        if (index.dim() != dim()) {
            throw new TorchException("gather: index " + index.describe() + " must have the rank of " + describe());
        }
        return Ops.gather(this, Checks.normDim(dim, dim()), index, false);
    }

    /** Where mask is true, value; elsewhere this. mask broadcasts to this tensor's shape. */
    public Tensor maskedFill(Tensor mask, double value) {
        if (mask.dtype() != DType.BOOL) throw new TorchException("masked_fill: mask must be bool, got " + mask.describe());
        Checks.broadcast("masked_fill", this, mask);
        try (Tensor v = Scalars.tensor(this, value)) {
            return Ops.masked_fill_Tensor(this, mask, v);
        }
    }

    /** Elementwise condition ? a : b, broadcasting. */
    public static Tensor where(Tensor condition, Tensor a, Tensor b) {
        if (condition.dtype() != DType.BOOL) throw new TorchException("where: condition must be bool, got " + condition.describe());
        Checks.binary("where", a, b);
        return Ops.where_self(condition, a, b);
    }

    /** Upper triangle (elements with column - row >= diagonal), zeros elsewhere. */
    public Tensor triu(long diagonal) {
        if (dim() < 2) throw new TorchException("triu needs at least 2 dimensions, got " + describe());
        return Ops.triu(this, diagonal);
    }

    /** The lower triangle of the last two dimensions (at or below diagonal); the rest zero. */
    public Tensor tril(long diagonal) {
        if (dim() < 2) throw new TorchException("tril needs at least 2 dimensions, got " + describe());
        return Ops.tril(this, diagonal);
    }

    /** The tensors joined along dim. */
    public static Tensor cat(List<Tensor> tensors, int dim) {
        if (tensors.isEmpty()) throw new TorchException("cat: no tensors given");
        Tensor first = tensors.getFirst();
        int r = first.dim();
        int d = Checks.normDim(dim, r);
        for (Tensor t : tensors) {
            if (t.dim() != r) throw new TorchException("cat: all tensors need rank " + r + ", got " + t.describe());
            for (int i = 0; i < r; i++) {
                if (i != d && t.size(i) != first.size(i)) {
                    throw new TorchException("cat: sizes differ outside dim " + d + ": " + first.describe() + " vs " + t.describe());
                }
            }
        }
        return Ops.cat(tensors, d);
    }

    /** The tensors (of one shape) stacked along a new dimension dim. */
    public static Tensor stack(List<Tensor> tensors, int dim) {
        if (tensors.isEmpty()) throw new TorchException("stack: no tensors given");
        long[] s = tensors.getFirst().shapeRef();
        for (Tensor t : tensors) {
            if (!Arrays.equals(t.shapeRef(), s)) throw new TorchException("stack: shapes differ: " + tensors.getFirst().describe() + " vs " + t.describe());
        }
        int r = s.length + 1;
        if (dim < -r || dim >= r) throw new TorchException("stack: dimension " + dim + " out of range for rank " + r);
        return Ops.stack(tensors, dim < 0 ? dim + r : dim);
    }

    /** Pieces of splitSize along dim (the last may be smaller). */
    public List<Tensor> split(long splitSize, int dim) {
        if (splitSize <= 0) throw new TorchException("split: size must be positive, got " + splitSize);
        return Ops.split_Tensor(this, splitSize, Checks.normDim(dim, dim()));
    }

    /** Pieces of the given sizes along dim; they must add up to the dimension's size. */
    public List<Tensor> split(long[] sizes, int dim) {
        int d = Checks.normDim(dim, dim());
        long total = Arrays.stream(sizes).sum();
        if (total != size(d)) throw new TorchException("split: sizes " + Arrays.toString(sizes) + " do not add up to dim " + d + " of " + describe());
        return Ops.split_with_sizes(this, sizes, d);
    }

    /** At most chunks views of (nearly) equal size along dim. */
    public List<Tensor> chunk(int chunks, int dim) {
        if (chunks <= 0) throw new TorchException("chunk: number of chunks must be positive, got " + chunks);
        return Ops.chunk(this, chunks, Checks.normDim(dim, dim()));
    }

    // =====================================================================================================
    // Neural-network functions
    // =====================================================================================================

    /** Rows of weight [vocab, dim] at indices (int64 or int32), like torch.nn.functional.embedding. */
    public static Tensor embedding(Tensor weight, Tensor indices) {
        return embedding(weight, indices, -1);
    }

    /** The same, with paddingIdx's row getting no gradient (as torch.nn.Embedding(padding_idx=...)); -1 for none. */
    public static Tensor embedding(Tensor weight, Tensor indices, long paddingIdx) {
        if (weight.dim() != 2) throw new TorchException("embedding: weight must be [num_embeddings, dim], got " + weight.describe());
        Checks.index("embedding", indices);
        return Ops.embedding(weight, indices, paddingIdx, false, false);
    }

    /** A copy of this tensor with the rows (along dim) at index replaced by source's rows; differentiable in both. */
    public Tensor indexCopy(int dim, Tensor index, Tensor source) {
        Checks.index("index_copy", index);
        return Ops.index_copy(this, Checks.normDim(dim, dim()), index, source);
    }

    /**
     * Cross-entropy between logits [N, C] (or [N, C, d...]) and class indices [N] (or [N, d...]), averaged over the
     * targets that are not ignoreIndex.
     */
    public Tensor crossEntropy(Tensor target, long ignoreIndex) {
        return crossEntropy(target, ignoreIndex, Reduction.MEAN, 0.0);
    }

    public enum Reduction { NONE, MEAN, SUM }

    /** Cross-entropy of these logits [N, C, ...] against class indices target [N, ...]; targets equal to ignoreIndex count for nothing. */
    public Tensor crossEntropy(Tensor target, long ignoreIndex, Reduction reduction, double labelSmoothing) {
        if (target.dtype() != DType.INT64) throw new TorchException("cross_entropy: target must be int64 class indices, got " + target.describe());
        long[] x = shapeRef(), t = target.shapeRef();
        boolean ok = x.length == t.length + 1 && x.length >= 1;
        for (int i = 0; ok && i < t.length; i++) ok = t[i] == x[i == 0 ? 0 : i + 1];
        if (!ok) throw new TorchException("cross_entropy: logits " + describe() + " do not fit targets " + target.describe()
                + " (expected logits [N, C, ...] and targets [N, ...])");
        return Ops.cross_entropy_loss(this, target, null, reduction.ordinal(), ignoreIndex, labelSmoothing);
    }

    /**
     * Scaled dot-product attention over query [B, Hq, L, E], key and value [B, Hkv, S, E]; Hq may be a multiple of Hkv
     * (grouped-query attention). attnMask, if given, is added to the scores (or, if bool, masks where false).
     * scale null means 1/sqrt(E).
     */
    public static Tensor scaledDotProductAttention(Tensor query, Tensor key, Tensor value, Tensor attnMask,
                                                   double dropoutP, boolean isCausal, Double scale) {
        long[] q = query.shapeRef(), k = key.shapeRef(), v = value.shapeRef();
        if (q.length != 4 || k.length != 4 || v.length != 4) {
            throw new TorchException("scaled_dot_product_attention: expected 4-d query, key, value, got "
                    + query.describe() + ", " + key.describe() + ", " + value.describe());
        }
        if (k[1] == 0 || k[1] != v[1] || k[2] != v[2] || q[3] != k[3] || q[0] != k[0] || q[1] % k[1] != 0) {
            throw new TorchException("scaled_dot_product_attention: shapes do not fit: query " + query.describe()
                    + ", key " + key.describe() + ", value " + value.describe());
        }
        if (attnMask != null && isCausal) throw new TorchException("scaled_dot_product_attention: give a mask or is_causal, not both");
        boolean gqa = q[1] != k[1];
        return Ops.scaled_dot_product_attention(query, key, value, attnMask, dropoutP, isCausal, scale, gqa);
    }

    /** Zeroes elements with probability p and scales the rest by 1/(1-p) when train; the identity otherwise. */
    public Tensor dropout(double p, boolean train) {
        if (p < 0 || p > 1) throw new TorchException("dropout: p must be in [0, 1], got " + p);
        return Ops.dropout(this, p, train);
    }

    /** RMS normalisation over the last normalizedShape.length dimensions, times weight (may be null). */
    public Tensor rmsNorm(long[] normalizedShape, Tensor weight, double eps) {
        return Ops.rms_norm(this, normalizedShape, weight, eps);
    }

    /** Layer normalisation over the trailing normalizedShape dimensions; weight and bias may be null. */
    public Tensor layerNorm(long[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        return Ops.layer_norm(this, normalizedShape, weight, bias, eps, true);
    }

    // =====================================================================================================
    // Ops of higgs4j's own layers, optimizers and audio code. They are here, typed, rather than in a public generated
    // class because Tensor is the one public facade: the generated Ops stays package-private, and code outside this
    // package (nn, optim, audio, tokenizer, higgs) reaches ATen only through these methods. Arguments pass as given,
    // as torch's functions of the same names take them.
    // =====================================================================================================

    /** The dot product of two 1-d tensors (0-dim), as torch.dot. */
    public Tensor dot(Tensor other) {
        return Ops.dot(this, other);
    }

    /** Element-wise base-10 logarithm. */
    public Tensor log10() {
        return Ops.log10(this);
    }

    /** Element-wise maximum, with broadcasting (NaN wins, as torch.maximum). */
    public Tensor maximum(Tensor other) {
        return Ops.maximum(this, other);
    }

    /** Running sums along dim. */
    public Tensor cumsum(int dim) {
        return Ops.cumsum(this, dim, null);
    }

    /** A copy with src's values written at index along dim (torch.scatter with a src tensor). */
    public Tensor scatter(int dim, Tensor index, Tensor src) {
        return Ops.scatter_src(this, dim, index, src);
    }

    /** A copy shifted by shift along dim, wrapping around (torch.roll): out[(i + shift) mod n] = self[i]. */
    public Tensor roll(long shift, int dim) {
        return Ops.roll(this, new long[] {shift}, new long[] {dim});
    }

    /** A copy with src's values added at index along dim (torch.scatter_add): out[index[i][j]][j] += src[i][j] for dim 0. */
    public Tensor scatterAdd(int dim, Tensor index, Tensor src) {
        return Ops.scatter_add(this, dim, index, src);
    }

    /** The values sorted along dim, and their original indices. */
    public List<Tensor> sort(int dim, boolean descending) {
        return Ops.sort(this, dim, descending);
    }

    /** The k largest (or smallest) values along dim, and their indices. */
    public List<Tensor> topk(long k, int dim, boolean largest, boolean sorted) {
        return Ops.topk(this, k, dim, largest, sorted);
    }

    /** numSamples indices per row drawn with the row's (unnormalised, non-negative) weights as probabilities. */
    public Tensor multinomial(long numSamples, boolean replacement) {
        return Ops.multinomial(this, numSamples, replacement);
    }

    /**
     * This tensor padded as torch.nn.functional.pad: pad holds (before, after) pairs from the last dimension back;
     * mode "constant" (value, null for 0), "reflect", "replicate" or "circular".
     */
    public Tensor pad(long[] pad, String mode, Double value) {
        return StringFreeOps.pad(this, pad, mode, value);
    }

    /** A real view [..., 2] of a complex tensor (real and imaginary parts last). */
    public Tensor viewAsReal() {
        return Ops.view_as_real(this);
    }

    /**
     * The short-time Fourier transform of this [B, samples] signal, as torch.stft with return_complex=True: frames of
     * nFft samples every hopLength, each multiplied by window (winLength long, null for a rectangular one); with
     * center, the signal is first padded by nFft/2 on both sides in padMode. Complex64 [B, nFft/2+1 or nFft, frames].
     */
    public Tensor stft(long nFft, long hopLength, long winLength, Tensor window, boolean center, String padMode,
                       boolean normalized, boolean onesided) {
        return StringFreeOps.stft(this, nFft, hopLength, winLength, window, center, padMode, normalized, onesided);
    }

    /** Group normalisation of [B, C, ...] over numGroups groups of channels; weight and bias [C] may be null. */
    public Tensor groupNorm(long numGroups, Tensor weight, Tensor bias, double eps) {
        return Ops.group_norm(this, numGroups, weight, bias, eps, true);
    }

    /** 1-d average pooling of [B, C, T] (or [C, T]), as torch.nn.functional.avg_pool1d. */
    public Tensor avgPool1d(long kernelSize, long stride, long padding, boolean ceilMode, boolean countIncludePad) {
        return Ops.avg_pool1d(this, new long[] {kernelSize}, new long[] {stride}, new long[] {padding}, ceilMode, countIncludePad);
    }

    /**
     * The 1-d convolution of x [B, in, T] with weight [out, in / groups, kernel] and bias [out] or null, as
     * torch.nn.functional.conv1d. On the CPU the oneDNN or im2col kernel is called directly (aten::conv1d would probe
     * NNPACK and log a warning on every call where it cannot start).
     */
    public static Tensor conv1d(Tensor x, Tensor weight, Tensor bias, long stride, long padding, long dilation, long groups) {
        return Convolution.conv1d(x, weight, bias, stride, padding, dilation, groups);
    }

    /** The transposed 1-d convolution, as torch.nn.functional.conv_transpose1d; weight [in, out / groups, kernel]. */
    public static Tensor convTranspose1d(Tensor x, Tensor weight, Tensor bias, long stride, long padding,
                                         long outputPadding, long groups, long dilation) {
        return Ops.conv_transpose1d(x, weight, bias, new long[] {stride}, new long[] {padding},
                new long[] {outputPadding}, groups, new long[] {dilation});
    }

    /** The 2-norm of v over every dimension but dim (kept, size 1 elsewhere), as weight_norm's initial g. */
    public Tensor normExceptDim(long pow, long dim) {
        return Ops.norm_except_dim(this, pow, dim);
    }

    /** v * (g / the norm of v over every dimension but dim): weight normalisation's weight, with autograd. */
    public static Tensor weightNorm(Tensor v, Tensor g, long dim) {
        return Ops._weight_norm(v, g, dim);
    }

    /** Multiplies every tensor of tensors by factor (a 0-dim tensor) in place, in one fused call (torch._foreach_mul_). */
    public static void foreachMul_(List<Tensor> tensors, Tensor factor) {
        Ops._foreach_mul__Tensor(tensors, factor);
    }

    /**
     * One AdamW step over every parameter in a fused kernel (torch._fused_adamw_, without amsgrad, maximize or a grad
     * scaler): params, expAvgs and expAvgSqs are updated in place; steps hold each parameter's step count, already
     * incremented for this step.
     */
    public static void fusedAdamW_(List<Tensor> params, List<Tensor> grads, List<Tensor> expAvgs, List<Tensor> expAvgSqs,
                                   List<Tensor> steps, double lr, double beta1, double beta2, double weightDecay, double eps) {
        Ops._fused_adamw_(params, grads, expAvgs, expAvgSqs, List.of(), steps, lr, beta1, beta2, weightDecay, eps,
                false, false, null, null);
    }

    // =====================================================================================================
    // Conversion and copies
    // =====================================================================================================

    /** The elements converted to target (a new handle to the same data when the dtype is already target). */
    public Tensor to(DType target) {
        if (target == dtype()) return Ops.alias(this);
        return Ops.to_dtype(this, target, false, false, null);
    }

    /** The elements copied to target (a new handle to the same data when already there). */
    public Tensor to(Device target) {
        return to(target, dtype());
    }

    /** The elements copied to target and converted to targetType. */
    public Tensor to(Device target, DType targetType) {
        target.checkAvailable();
        return Ops.to_dtype_layout(this, targetType, target, null, false, false, null);
    }

    /** Copies src into this tensor in place (broadcasting, converting dtype and device). Returns this. */
    public Tensor copy_(Tensor src) {
        Checks.broadcast("copy_", this, src);
        Ops.copy_(this, src, false).close();
        return this;
    }

    /** Fills this tensor with value in place. Returns this. */
    public Tensor fill_(double value) {
        long h = acquire();
        try {
            Native.fill(h, value, () -> "fill_(" + describe() + ", " + value + ")");
        } finally {
            release();
        }
        return this;
    }

    /** Sets every element to 0, in place; returns this. */
    public Tensor zero_() {
        return fill_(0.0);
    }

    /** A copy of the elements (recorded by autograd). */
    public Tensor clone() {
        return Ops.clone(this, null);
    }

    /** A new handle to the same tensor, owned separately (closing one leaves the other usable). */
    public Tensor share() {
        long h = acquire();
        try {
            return adopt(Native.newHandle(h));
        } finally {
            release();
        }
    }

    // =====================================================================================================
    // Autograd
    // =====================================================================================================

    /** Whether autograd records operations on this tensor. */
    public boolean requiresGrad() {
        long h = acquire();
        try {
            return Native.requiresGrad(h);
        } finally {
            release();
        }
    }

    /**
     * Whether this tensor is a leaf of the autograd graph: made by the user (or detached) rather than computed from
     * tensors that require grad. Only leaves get a {@link #grad()} from backward.
     */
    public boolean isLeaf() {
        return Ops.is_leaf(this);
    }

    /** Marks this (leaf) tensor as needing a gradient. Returns this. */
    public Tensor requiresGrad(boolean requiresGrad) {
        if (requiresGrad && !dtype().isFloatingPoint()) {
            throw new TorchException("only floating-point tensors can require gradients, got " + describe());
        }
        long h = acquire();
        try {
            Native.setRequiresGrad(h, requiresGrad, () -> "requires_grad_(" + describe() + ")");
            if (!requiresGrad && Native.requiresGrad(h)) {
                // libtorch takes the flag but a computed tensor still requires grad through its grad_fn (torch raises)
                throw new TorchException("requires_grad_(false) on " + describe() + ": only a leaf tensor's flag can be "
                        + "changed; this one was computed from tensors that require grad (use detach() for a copy outside the graph)");
            }
        } finally {
            release();
        }
        return this;
    }

    /** The accumulated gradient, as a new tensor sharing its storage, or null when there is none. */
    public Tensor grad() {
        long h = acquire();
        try {
            // The gradient lives inside this tensor's TensorImpl: it is read and copied while the handle is held.
            long g = Native.gradHandle(h);
            return g == 0 ? null : adopt(g);
        } finally {
            release();
        }
    }

    /** Sets the gradient to zeros in place (keeps its memory). */
    public void zeroGrad() {
        try (Tensor g = grad()) {
            if (g != null) g.zero_();
        }
    }

    /** Drops the gradient (like setting .grad = None), freeing its memory. */
    public void resetGrad() {
        long h = acquire();
        try {
            Native.resetGrad(h);
        } finally {
            release();
        }
    }

    /** Accumulates d(this)/d(leaf) into every leaf's grad; this must be a scalar. Frees the graph. */
    public void backward() {
        backward(null, false);
    }

    /** {@link #backward()}, keeping the graph for another backward when retainGraph. */
    public void backward(boolean retainGraph) {
        backward(null, retainGraph);
    }

    /** Backward with an explicit output gradient (same shape as this), for non-scalar outputs. */
    public void backward(Tensor gradient, boolean retainGraph) {
        if (gradient == null && numel() != 1) {
            throw new TorchException("backward() without a gradient needs a scalar output, got " + describe());
        }
        if (!requiresGrad()) {
            throw new TorchException("backward(): " + describe() + " does not require grad (no input requires grad, or it"
                    + " was computed under no-grad)");
        }
        Ops._backward(this, List.of(), gradient, retainGraph, false);
    }

    /** A tensor sharing storage with this one but cut from the autograd graph. */
    public Tensor detach() {
        return Ops.detach(this);
    }
}
