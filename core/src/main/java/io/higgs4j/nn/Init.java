package io.higgs4j.nn;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

/**
 * How new parameters are made: their dtype and device, and the initialisation of the Hugging Face Llama family
 * (weights normal with std initializerRange, norms one). On the meta device nothing is allocated, which is how
 * the 3B model's structure is built on a laptop.
 */
public record Init(DType dtype, Device device, double initializerRange, boolean initialize) {

    public Init(DType dtype, Device device, double initializerRange) {
        this(dtype, device, initializerRange, true);
    }

    /** Parameters allocated but not initialised, for a model whose every weight is about to be loaded. */
    public static Init forLoading(DType dtype, Device device) {
        return new Init(dtype, device, 0.02, false);
    }

    private boolean skip() {
        return device.type() == Device.Type.META || !initialize;
    }

    /** Shape-only parameters: bf16 on the meta device, nothing allocated. */
    public static Init meta() {
        return new Init(DType.BFLOAT16, Device.META, 0.02);
    }

    /** Randomly initialised parameters of dtype on the CPU, with initializer range 0.02. */
    public static Init cpu(DType dtype) {
        return new Init(dtype, Device.CPU, 0.02);
    }

    /** A tensor drawn from N(0, initializerRange^2) (uninitialised when this Init does not initialise). */
    public Tensor normal(long... shape) {
        if (skip()) return Tensor.empty(shape, dtype, device);
        try (var g = Torch.noGrad(); Tensor r = Tensor.randn(shape, DType.FLOAT32, device)) {
            try (Tensor scaled = r.mul(initializerRange)) {
                return scaled.to(dtype);
            }
        }
    }

    /** Uniform on [-bound, bound): kaiming-uniform with a = sqrt(5) is bound = 1/sqrt(fan_in), as torch.nn.Linear. */
    public Tensor uniform(double bound, long... shape) {
        if (skip()) return Tensor.empty(shape, dtype, device);
        try (var g = Torch.noGrad(); Tensor r = Tensor.rand(shape, DType.FLOAT32, device); Tensor scaled = r.mul(2 * bound)) {
            try (Tensor shifted = scaled.sub(bound)) {
                return shifted.to(dtype);
            }
        }
    }

    /** A tensor of ones (uninitialised when this Init does not initialise). */
    public Tensor ones(long... shape) {
        if (skip()) return Tensor.empty(shape, dtype, device);
        return Tensor.ones(shape, dtype, device);
    }

    /** A tensor of zeros (uninitialised when this Init does not initialise). */
    public Tensor zeros(long... shape) {
        if (skip()) return Tensor.empty(shape, dtype, device);
        return Tensor.zeros(shape, dtype, device);
    }
}
