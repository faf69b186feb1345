package io.higgs4j.trainer.train;

import io.higgs4j.torch.Device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Memory to report per step: device memory in use on CUDA, the process's resident set on the CPU. */
final class Memory {
    private Memory() {}

    static long bytesInUse(Device device) {
        if (device.type() == Device.Type.CUDA) {
            long cuda = io.higgs4j.torch.Torch.cudaMemoryInUse();
            if (cuda >= 0) return cuda;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
