package io.higgs4j.torch;

import java.util.List;

/**
 * The workarounds for Scalar arguments, which libtorch 2.10's dispatcher cannot convert: a number next to a tensor
 * becomes a 0-dim tensor of the dtype torch would give it, passed to the op's Tensor overload; {@code a + alpha b}
 * goes through the typed subtract entry, which takes alpha as a double and records autograd, or for integer tensors
 * through an exact stack-and-sum.
 */
final class Scalars {

    private Scalars() {}

    /** self + alpha * other (shapes and devices checked by the caller). */
    static Tensor add(Tensor self, Tensor other, double alpha) {
        if (!self.dtype().isFloatingPoint() && !other.dtype().isFloatingPoint()) return integralAdd(self, other, alpha);
        long oh = other.acquire();
        try {
            return subtract(self, oh, -alpha, alpha == 1.0 ? "add" : "add(alpha=" + alpha + ")", other);
        } finally {
            other.release();
        }
    }

    /** self + value. */
    static Tensor add(Tensor self, double value) {
        if (!self.dtype().isFloatingPoint() && value == Math.rint(value)) {
            try (Tensor s = Tensor.adopt(handle(self, value))) { // tracked: integralAdd uses it in several ops
                return integralAdd(self, s, 1.0);
            }
        }
        long s = handle(self, value);
        try {
            return subtract(self, s, -1.0, "add", value);
        } finally {
            Native.deleteHandle(s);
        }
    }

    /** v as a 0-dim tensor for one op with self ({@link #handle}), which the caller closes right after. */
    static Tensor tensor(Tensor self, double v) {
        return Tensor.adoptTransient(handle(self, v));
    }

    /** A 0-dim tensor handle for v next to self, in the dtype torch would give a Python number there. */
    static long handle(Tensor self, double v) {
        DType d = self.dtype();
        if (!d.isFloatingPoint() && v == Math.rint(v) && Math.abs(v) < 0x1p62) {
            return Native.scalarInt64((long) v);
        } else if (d == DType.FLOAT64) {
            return Native.scalarFloat64(v);
        } else if (d.isFloatingPoint() && d != DType.FLOAT32 && self.dim() == 0) {
            // A 0-dim half tensor keeps its dtype, as torch's Python scalars do: the scalar is made in that dtype.
            return Native.full(new long[0], v, d.code(), Native.DEVICE_CPU, 0, () -> "scalar_to_tensor(" + v + ")");
        } else {
            // torch treats a Python float as a "wrapped number": it never widens a tensor's dtype, and next to an
            // integer or bool tensor it gives the default dtype, float32. A float32 0-dim tensor does the same here
            // (a float64 one would turn 0-dim float32 results and integer tensors' results into float64).
            return Native.scalarFloat32((float) v);
        }
    }

    /** self - alpha * other through the typed entry, which records autograd (the dispatcher cannot pass alpha). */
    private static Tensor subtract(Tensor self, long otherHandle, double alpha, String op, Object other) {
        long h = self.acquire();
        long result;
        try {
            result = Native.subtract(h, otherHandle, alpha,
                    () -> op + "(" + self.describe() + ", " + (other instanceof Tensor t ? t.describe() : other) + ")");
        } finally {
            self.release();
        }
        return Tensor.adopt(result);
    }

    /**
     * self + alpha * other for integer tensors. The typed subtract entry passes alpha as a double, which libtorch
     * refuses for integral results, and the dispatcher cannot pass a Scalar alpha in 2.10; so the two operands are
     * broadcast, stacked and summed in the result dtype (exact for integers; these tensors carry no gradient).
     */
    private static Tensor integralAdd(Tensor self, Tensor other, double alpha) {
        if (alpha != Math.rint(alpha)) {
            throw new TorchException("add: alpha " + alpha + " must be a whole number for integer tensors " + self.describe()
                    + " and " + other.describe());
        }
        try (Scope s = Scope.open()) {
            Tensor scaled = alpha == 1.0 ? other : other.mul(alpha);
            DType dtype = Ops.result_type_Tensor(self, other);
            List<Tensor> both = Ops.broadcast_tensors(List.of(self, scaled));
            Tensor stacked = Ops.stack(both, 0);
            return Scope.keep(Ops.sum_dim_IntList(stacked, new long[] {0}, false, dtype));
        }
    }

    /** {@link #tensor} on self's device (a CUDA copy when self is on CUDA; the CPU one is freed). */
    static Tensor onDevice(Tensor self, double v) {
        Tensor cpu = tensor(self, v);
        if (self.device().type() != Device.Type.CUDA) return cpu;
        try (cpu; Tensor moved = cpu.to(self.device())) {
            long h = moved.acquire();
            try {
                return Tensor.adoptTransient(Native.newHandle(h));
            } finally {
                moved.release();
            }
        }
    }
}
