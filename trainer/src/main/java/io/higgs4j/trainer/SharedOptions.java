package io.higgs4j.trainer;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Torch;

import java.util.function.Function;

/** The values of options several commands share, each read one way: --device and --dtype. */
final class SharedOptions {
    private SharedOptions() {}

    /**
     * Refuses a --device value that does not parse (through bad, which names the option) or names a device this
     * machine lacks (one line, before libtorch is asked for anything on it); no value is fine.
     */
    static void checkDevice(String option, Function<String, ? extends RuntimeException> bad) {
        if (option == null) return;
        Device d;
        try {
            d = Device.parse(option);
        } catch (IllegalArgumentException e) {
            throw bad.apply("--device: " + e.getMessage());
        }
        d.checkAvailable();
    }

    /** The device --device names, or without one cuda:{cudaIndex} where CUDA is available, else the CPU. */
    static Device device(String option, int cudaIndex) {
        if (option != null) return Device.parse(option).checkAvailable();
        return Torch.cudaAvailable() ? Device.cuda(cudaIndex) : Device.CPU;
    }

    /** The value of --dtype (train, params, generate), the frozen base's: bf16 or fp32. */
    static DType dtype(String option) {
        return switch (option) {
            case "bf16" -> DType.BFLOAT16;
            case "fp32" -> DType.FLOAT32;
            default -> throw new IllegalArgumentException("--dtype must be bf16 or fp32, got '" + option + "'");
        };
    }
}
