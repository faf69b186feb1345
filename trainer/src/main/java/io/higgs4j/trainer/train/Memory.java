package io.higgs4j.trainer.train;

import io.higgs4j.torch.Device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Memory to report per step: device memory in use on CUDA, the process's resident set on the CPU. */
public final class Memory {
    private Memory() {}

    /**
     * The run's peak: on CUDA the highest device memory in use seen at a step's end (the caching allocator's own peak
     * is not reachable through the C ABI); on the CPU the resident set's high-water mark (VmHWM).
     */
    public static long peakBytes(Device device, java.util.List<StepMetrics> history) {
        if (device.type() == Device.Type.CUDA) return history.stream().mapToLong(StepMetrics::memBytes).max().orElse(-1);
        return status("VmHWM:");
    }

    static long bytesInUse(Device device) {
        if (device.type() == Device.Type.CUDA) {
            long cuda = io.higgs4j.torch.Torch.cudaMemoryInUse();
            if (cuda >= 0) return cuda;
        }
        return status("VmRSS:");
    }

    /** A /proc/self/status field in bytes, or -1 where there is none (not Linux). */
    private static long status(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
