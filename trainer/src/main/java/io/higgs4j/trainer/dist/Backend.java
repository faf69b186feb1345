package io.higgs4j.trainer.dist;

import io.higgs4j.torch.Device;

import java.util.Locale;

/**
 * The collectives of a data-parallel run (--backend of train and launch): cpu, over TCP through rank 0, or nccl, on
 * CUDA devices. Every check of the option lives here, so train, launch and {@link ProcessGroups} say the same.
 */
public enum Backend {
    CPU, NCCL;

    /** The option's value, in any case; anything but cpu or nccl is refused. */
    public static Backend parse(String option) {
        return switch (option.toLowerCase(Locale.ROOT)) {
            case "cpu" -> CPU;
            case "nccl" -> NCCL;
            default -> throw new IllegalArgumentException("--backend must be cpu or nccl, got " + option);
        };
    }

    /** When --backend is not given: nccl for a CUDA device, cpu otherwise. */
    public static Backend defaultFor(Device device) {
        return device.type() == Device.Type.CUDA ? NCCL : CPU;
    }

    /** NCCL reduces tensors on the device, so it needs a CUDA device; cpu works with any. */
    public void checkDevice(Device device) {
        if (this == NCCL && device.type() != Device.Type.CUDA) {
            throw new IllegalArgumentException("--backend nccl needs a CUDA device, got " + device + "; use --backend cpu");
        }
    }

    /** The option's value: cpu or nccl. */
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
