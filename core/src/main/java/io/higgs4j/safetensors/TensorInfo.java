package io.higgs4j.safetensors;

import io.higgs4j.torch.DType;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a safetensors header says about one tensor, read without touching its data.
 *
 * @param dtype    element type
 * @param shape    dimensions (empty for a 0-dim tensor); a copy is returned each time
 * @param byteSize bytes of data: the product of the shape times the element size
 */
public record TensorInfo(DType dtype, long[] shape, long byteSize) {

    public TensorInfo {
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements (1 for a 0-dim tensor). */
    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && dtype == t.dtype && byteSize == t.byteSize && Arrays.equals(shape, t.shape);
    }

    @Override
    public int hashCode() {
        return Objects.hash(dtype, Arrays.hashCode(shape), byteSize);
    }

    @Override
    public String toString() {
        return "TensorInfo[" + StDType.code(dtype) + Arrays.toString(shape) + ", " + byteSize + " bytes]";
    }
}
