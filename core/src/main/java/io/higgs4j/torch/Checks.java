package io.higgs4j.torch;

import java.util.Arrays;

/**
 * The cheap checks {@link Tensor} makes in Java before an op runs (shapes, dtypes, devices, dimensions), so that bad
 * input gives an exception naming the op and its tensors instead of libtorch's message, or a crash.
 */
final class Checks {

    private Checks() {}

    /** An element-wise op of a and b: shapes broadcast, and both are on one device (a CPU 0-dim tensor goes anywhere). */
    static void binary(String op, Tensor a, Tensor b) {
        broadcast(op, a, b);
        Device d1 = a.device(), d2 = b.device();
        if (!d1.equals(d2) && !(d1.type() == Device.Type.CPU && a.dim() == 0) && !(d2.type() == Device.Type.CPU && b.dim() == 0)) {
            throw new TorchException(op + ": tensors are on different devices: " + a.describe() + " and " + b.describe());
        }
    }

    /** The shapes of a and b broadcast against each other. */
    static void broadcast(String op, Tensor a, Tensor b) {
        long[] x = a.shapeRef(), y = b.shapeRef();
        for (int i = 1; i <= Math.min(x.length, y.length); i++) {
            long p = x[x.length - i], q = y[y.length - i];
            if (p != q && p != 1 && q != 1) {
                throw new TorchException(op + ": shapes do not broadcast: " + a.describe() + " and " + b.describe());
            }
        }
    }

    static void sameDtypeAndDevice(String op, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) {
            throw new TorchException(op + ": dtypes differ: " + a.describe() + " and " + b.describe());
        }
        if (!a.device().equals(b.device())) {
            throw new TorchException(op + ": devices differ: " + a.describe() + " and " + b.describe());
        }
    }

    static void index(String op, Tensor index) {
        if (index.dtype() != DType.INT64 && index.dtype() != DType.INT32) {
            throw new TorchException(op + ": indices must be int64 or int32, got " + index.describe());
        }
    }

    /** newShape (one size may be -1) holds exactly t's elements. */
    static void reshape(String op, Tensor t, long[] newShape) {
        long known = 1;
        int inferred = 0;
        for (long d : newShape) {
            if (d == -1) inferred++;
            else if (d < 0) throw new TorchException(op + ": bad dimension " + d + " in " + Arrays.toString(newShape));
            else known *= d;
        }
        long n = t.numel();
        boolean ok = inferred == 0 ? known == n : inferred == 1 && (known == 0 ? n == 0 : n % known == 0);
        if (!ok) {
            throw new TorchException(op + ": shape " + Arrays.toString(newShape) + " is invalid for " + t.describe()
                    + " (" + n + " elements)");
        }
    }

    /** d in [-rank, rank) as a dimension in [0, rank) (a 0-dim tensor takes 0 and -1, as torch does). */
    static int normDim(int d, int rank) {
        int r = Math.max(rank, 1);
        if (d < -r || d >= r) {
            throw new TorchException("dimension " + d + " is out of range for a tensor of rank " + rank);
        }
        return d < 0 ? d + r : d;
    }

    static long[] normDims(Tensor t, long[] dims) {
        int r = t.dim();
        long[] out = new long[dims.length];
        for (int i = 0; i < dims.length; i++) out[i] = normDim((int) dims[i], r);
        return out;
    }
}
