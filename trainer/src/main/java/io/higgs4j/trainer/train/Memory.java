package io.higgs4j.trainer.train;

import io.higgs4j.torch.Device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Memory to report per step: the process's resident set (on CUDA too: device memory has no C entry in libtorch 2.10). */
final class Memory {
    private Memory() {}

    static long bytesInUse(Device device) {
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
