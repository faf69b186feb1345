package io.higgs4j.torch;

import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * For the soak tests: the C heap in use less what the JVM itself has malloc'd. The JVM's own allocations (the JIT's
 * arenas above all, which it keeps for seconds after a compilation) move the C heap by megabytes at a time, up and
 * down, while libtorch's stay put; with Native Memory Tracking on (the test JVM runs with
 * {@code -XX:NativeMemoryTracking=summary}), the JVM reports them and they are taken out. What remains is libtorch's
 * memory and the FFM allocations ({@code Other} in the JVM's report, which stays in), i.e. what higgs4j could leak.
 */
public final class NativeHeap {
    private NativeHeap() {}

    private static final Pattern TOTAL_MALLOC = Pattern.compile("Total:.*?\\n\\s*malloc:\\s*(\\d+)", Pattern.DOTALL);
    private static final Pattern OTHER_MALLOC = Pattern.compile("-\\s+Other \\(.*?\\)\\s*\\n\\s*\\(malloc=(\\d+)");

    /** Bytes of the C heap in use, less the JVM's own mallocs when it tracks them; -1 without glibc's mallinfo2. */
    public static long inUseWithoutTheJvm() {
        long heap = Torch.nativeMemoryInUse();
        if (heap < 0) return heap;
        // The two readings are not one: the JIT's threads allocate and free megabytes of arenas meanwhile. Read the
        // JVM's figure on both sides of the heap's and keep a reading during which it held still.
        long best = Long.MAX_VALUE, bestReading = heap;
        for (int attempt = 0; attempt < 200; attempt++) {
            long before = jvmOwnMallocBytes();
            if (before < 0) return heap;
            heap = Torch.nativeMemoryInUse();
            long after = jvmOwnMallocBytes();
            long moved = Math.abs(after - before);
            if (moved <= STILL) return heap - (before + after) / 2;
            if (moved < best) {
                best = moved;
                bestReading = heap - (before + after) / 2;
            }
            try {
                Thread.sleep(1); // a compilation under way: let it finish
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return bestReading; // the JIT never paused: the stillest reading, rather than none
    }

    /** How much the JVM's figure may move between the readings around the heap's: a few of its own small blocks. */
    private static final long STILL = 16 << 10;

    /** Whether the JVM's own mallocs are known (Native Memory Tracking on), so that they are left out. */
    public static boolean jvmTracked() {
        return jvmOwnMallocBytes() >= 0;
    }

    /** The JVM's malloc'd bytes outside the Other category (FFM and Unsafe allocations), or -1 without tracking. */
    static long jvmOwnMallocBytes() {
        String report;
        try {
            report = Jmx.nativeMemorySummary();
        } catch (Exception | LinkageError e) { // LinkageError: a runtime without java.management (the GPU bundle's)
            return -1;
        }
        Matcher total = TOTAL_MALLOC.matcher(report);
        if (!total.find()) return -1; // "Native memory tracking is not enabled"
        Matcher other = OTHER_MALLOC.matcher(report);
        long otherBytes = other.find() ? Long.parseLong(other.group(1)) : 0;
        return Long.parseLong(total.group(1)) - otherBytes;
    }

    /** Kept apart so that a runtime without java.management loads it only when asked, and fails there. */
    private static final class Jmx {
        static String nativeMemorySummary() throws Exception {
            return (String) ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                    new Object[] {new String[] {"summary", "scale=b"}}, new String[] {String[].class.getName()});
        }
    }

    /** The median of the climbs from one sample to the next: a steady leak's bytes per sample, blind to one-off steps. */
    public static double medianClimb(List<Long> samples) {
        long[] climbs = new long[samples.size() - 1];
        for (int k = 1; k < samples.size(); k++) climbs[k - 1] = samples.get(k) - samples.get(k - 1);
        java.util.Arrays.sort(climbs);
        return climbs[climbs.length / 2];
    }
}
