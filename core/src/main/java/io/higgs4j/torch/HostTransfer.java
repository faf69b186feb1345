package io.higgs4j.torch;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.Function;

/**
 * Copies between Java memory and tensors: {@link Tensor#copyOf} in, the {@code to*Array} methods and
 * {@link Tensor#copyTo} out. Reading goes through a contiguous CPU copy in the wanted dtype (the tensor itself when it
 * already is one), held while its bytes are read and freed after.
 */
final class HostTransfer {

    private HostTransfer() {}

    /** {@link Tensor#copyOf}: a CPU tensor holding a copy of src's bytes. */
    static Tensor copyOf(MemorySegment src, DType dtype, long... shape) {
        long bytes = Tensor.numel(shape) * dtype.elementSize();
        if (src.byteSize() != bytes) {
            throw new IllegalArgumentException("data holds " + src.byteSize() + " bytes but shape " + Arrays.toString(shape)
                    + " of " + dtype + " needs " + bytes);
        }
        Tensor t = Tensor.empty(shape, dtype, Device.CPU);
        if (bytes > 0) {
            long h = t.acquire();
            try {
                MemorySegment.copy(src, 0, Native.ptr(Native.dataPtr(h)).reinterpret(bytes), 0, bytes);
            } finally {
                t.release();
            }
        }
        return t;
    }

    /** A contiguous CPU copy of this tensor in the given dtype, or this tensor itself when it already is one. */
    private static Tensor hostCopy(Tensor t, DType as) {
        if (t.device().type() == Device.Type.META) throw new TorchException("a meta tensor holds no values: " + t.describe());
        if (t.dtype() == as && t.device().type() == Device.Type.CPU && t.isContiguous()) return t;
        try (var g = Torch.noGrad()) {
            return Ops._to_copy(t, as, Device.CPU, null, false, Native.CONTIGUOUS_FORMAT);
        }
    }

    /**
     * The bytes of host (from {@link #hostCopy}); valid only while the caller holds host (acquire..release). Their
     * count comes from host's sizes as libtorch has them now, not from a Java-side cache: a raw copy must never run
     * past the tensor's memory.
     */
    private static MemorySegment hostBytes(DType as, long hostHandle) {
        if (Native.dtypeCode(hostHandle) != Native.dtypeCode(as) || Native.device(hostHandle).type() != Device.Type.CPU) {
            // only a tensor changed in place while this thread read it gets here: never read it as another kind of memory
            throw new IllegalStateException("the tensor changed dtype or device while it was read");
        }
        long bytes = Math.multiplyExact(Tensor.numel(Native.sizes(hostHandle)), as.elementSize());
        if (bytes == 0) return MemorySegment.NULL;
        return Native.ptr(Native.dataPtr(hostHandle)).reinterpret(bytes);
    }

    /** Copies this tensor's values out as `as`, through a contiguous CPU copy that is held while it is read. */
    private static <A> A readHost(Tensor t, DType as, Function<MemorySegment, A> read) {
        Tensor host = hostCopy(t, as);
        try {
            long h = host.acquire();
            try {
                return read.apply(hostBytes(as, h));
            } finally {
                host.release();
            }
        } finally {
            if (host != t) host.close();
        }
    }

    /** The elements, converted to float32, copied to a Java array (row-major). */
    static float[] toFloatArray(Tensor t) {
        if (t.numel() == 0) return new float[0];
        return readHost(t, DType.FLOAT32, bytes -> bytes.toArray(ValueLayout.JAVA_FLOAT));
    }

    /** The elements, converted to float64, copied to a Java array (row-major). */
    static double[] toDoubleArray(Tensor t) {
        if (t.numel() == 0) return new double[0];
        return readHost(t, DType.FLOAT64, bytes -> bytes.toArray(ValueLayout.JAVA_DOUBLE));
    }

    /** The elements, converted to int64, copied to a Java array (row-major). */
    static long[] toLongArray(Tensor t) {
        if (t.numel() == 0) return new long[0];
        return readHost(t, DType.INT64, bytes -> bytes.toArray(ValueLayout.JAVA_LONG));
    }

    /** The elements, converted to int32, copied to a Java array (row-major). */
    static int[] toIntArray(Tensor t) {
        if (t.numel() == 0) return new int[0];
        return readHost(t, DType.INT32, bytes -> bytes.toArray(ValueLayout.JAVA_INT));
    }

    /** The elements, converted to bool, copied to a Java array (row-major). */
    static boolean[] toBooleanArray(Tensor t) {
        if (t.numel() == 0) return new boolean[0];
        byte[] bytes = readHost(t, DType.BOOL, b -> b.toArray(ValueLayout.JAVA_BYTE));
        boolean[] out = new boolean[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = bytes[i] != 0;
        return out;
    }

    /** {@link Tensor#copyTo}. */
    static void copyTo(Tensor t, MemorySegment dst) {
        DType dt = t.dtype();
        long bytes = t.numel() * dt.elementSize();
        if (dst.byteSize() != bytes) {
            throw new IllegalArgumentException("copyTo: destination holds " + dst.byteSize() + " bytes but " + t.describe()
                    + " has " + bytes);
        }
        if (bytes == 0) return;
        readHost(t, dt, src -> {
            MemorySegment.copy(src, 0, dst, 0, bytes);
            return null;
        });
    }
}
