package io.higgs4j.trainer.train;

import io.higgs4j.torch.Device;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Memory to report per step: device memory in use on CUDA, the process's resident set on the CPU. With the environment
 * variable HIGGS4J_MEMORY_LOG set, each logged step also says where the resident set goes (scripts/soak.sh reads it).
 */
public final class Memory {
    private Memory() {}

    /** Set (to anything) to log {@link #breakdown()} with every logged step. */
    static final boolean BREAKDOWN = System.getenv("HIGGS4J_MEMORY_LOG") != null;

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
        return rssBytes();
    }

    static long rssBytes() {
        return status("VmRSS:");
    }

    /** A /proc/self/status field in bytes, or -1 where there is none (not Linux). */
    static long status(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /**
     * RSS, the Java heap (used and committed), memory the JVM keeps outside it (metaspace, code cache), and glibc's C
     * heap: bytes handed out by malloc and bytes it holds from the system (the difference is free but kept, that is
     * fragmentation or padding), all in MiB.
     */
    static String breakdown() {
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        MemoryUsage nonHeap = ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage();
        io.higgs4j.torch.Torch.MallocStats m = io.higgs4j.torch.Torch.mallocStats();
        String malloc = m == null ? "malloc n/a"
                : String.format(Locale.ROOT, "malloc in use %.1f MiB, held %.1f MiB (free %.1f, mmapped %.1f)",
                        mib(m.inUse()), mib(m.held()), mib(m.free()), mib(m.mmapped()));
        return String.format(Locale.ROOT, "memory: rss %.1f MiB, java heap used %.1f MiB committed %.1f MiB, non-heap %.1f MiB, %s",
                mib(rssBytes()), mib(heap.getUsed()), mib(heap.getCommitted()), mib(nonHeap.getCommitted()), malloc);
    }

    private static double mib(long bytes) {
        return bytes / 1048576.0;
    }
}
