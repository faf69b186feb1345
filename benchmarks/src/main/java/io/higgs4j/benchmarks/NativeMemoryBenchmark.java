package io.higgs4j.benchmarks;

import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Native memory of the LoRA training step (StepRig.Mode.LORA: float32, CPU, batch x seqLen of the tiny config by
 * default; run-quick.sh also runs the small config, with fewer steps). One warm-up iteration of 450 steps (by then
 * malloc's footprint has about stopped growing), then one measured iteration of 300 steps (-wbs / -bs change both; the score is the time of the whole measured iteration).
 * The fork has a fixed, pre-touched 512 MiB Java heap, so that the RSS does not grow with the Java heap.
 * Around every measured step it samples the C heap in use (glibc mallinfo2, which holds libtorch's CPU
 * tensors: {@link Torch#nativeMemoryInUse()}), the process RSS and its high-water mark (/proc/self/status, the mark
 * reset before each step through /proc/self/clear_refs), and the live tensor count. Secondary results:
 * <ul>
 * <li>{@code nativeBytesPerStep}, {@code rssBytesPerStep}: slope (Theil-Sen: the median of the slopes between every two
 * measured steps) of the C heap in use / RSS after each step, against the step number (a leak shows as a positive
 * slope; 0 within noise means none);</li>
 * <li>{@code mallocFootprintBytesPerStep}: the same slope for what malloc holds from the system (mallinfo2's arena +
 * hblkhd: in use plus free chunks it keeps); growth here with a flat heap in use is fragmentation, not a leak;</li>
 * <li>{@code liveTensorGrowth}, {@code leakedTensorGrowth}: change of Tensor.liveCount() / leakedCount() from the
 * first to the last measured step;</li>
 * <li>{@code stepActivationBytes}: C heap in use once the loss is computed minus before the step, the largest over the
 * steps (what the forward holds for backward: the step's peak on top of the model, to within backward's temporaries);</li>
 * <li>{@code stepPeakRssBytes}: the largest rise of the RSS high-water mark within a step over the RSS before it (0
 * once the allocator keeps the step's pages);</li>
 * <li>{@code peakRssOverModelBytes}: the highest RSS seen during the measured steps minus the RSS after the model,
 * adapters and optimizer were built (before the first step: optimizer moments, activations, gradients, allocator
 * slack and JIT).</li>
 * </ul>
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, batchSize = 450)
@Measurement(iterations = 1, batchSize = 300)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms512m", "-Xmx512m", "-XX:+AlwaysPreTouch"})
@org.openjdk.jmh.annotations.State(org.openjdk.jmh.annotations.Scope.Thread)
public class NativeMemoryBenchmark {

    @Param({"tiny"})
    public String config;

    @Param({"1"})
    public int batch;

    @Param({"256"})
    public int seqLen;

    private StepRig rig;
    long rssAfterSetup;

    @Setup(Level.Trial)
    public void setUp() {
        rig = new StepRig(config, StepRig.Mode.LORA, batch, seqLen);
        OneLibTorch.check();
        rssAfterSetup = ProcStatus.read("VmRSS");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        rig.close();
    }

    /** The samples of one iteration; JMH reads the public methods as secondary results when the iteration ends. */
    @org.openjdk.jmh.annotations.State(org.openjdk.jmh.annotations.Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Samples {
        static final int MAX = 4096;
        final long[] heap = new long[MAX], rss = new long[MAX], footprint = new long[MAX];
        long live0, live1, leaked0, leaked1, activation, stepPeak, highest;
        int n;
        long rssAfterSetup;

        @Setup(Level.Iteration)
        public void reset(NativeMemoryBenchmark b) {
            n = 0;
            activation = stepPeak = highest = 0;
            rssAfterSetup = b.rssAfterSetup;
        }

        public double nativeBytesPerStep() {
            if (System.getenv("HIGGS4J_BENCH_DUMP") != null) { // one line per measured step, on the fork's stdout
                for (int i = 0; i < n; i++) {
                    System.out.println("sample " + i + " heap " + heap[i] + " footprint " + footprint[i] + " rss " + rss[i]);
                }
            }
            return slope(heap, n);
        }

        public double mallocFootprintBytesPerStep() {
            return slope(footprint, n);
        }

        public double rssBytesPerStep() {
            return slope(rss, n);
        }

        public long liveTensorGrowth() {
            return live1 - live0;
        }

        public long leakedTensorGrowth() {
            return leaked1 - leaked0;
        }

        public long stepActivationBytes() {
            return activation;
        }

        public long stepPeakRssBytes() {
            return stepPeak;
        }

        public long peakRssOverModelBytes() {
            return highest - rssAfterSetup;
        }

        /**
         * Theil-Sen slope: the median of the slopes between every pair of samples. Unlike least squares it is not
         * moved by the few-MiB blocks that the JIT and libtorch take and give back now and then.
         */
        static double slope(long[] y, int n) {
            if (n < 2) return 0;
            double[] slopes = new double[n * (n - 1) / 2];
            int k = 0;
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) slopes[k++] = (double) (y[j] - y[i]) / (j - i);
            }
            java.util.Arrays.sort(slopes);
            return k % 2 == 1 ? slopes[k / 2] : (slopes[k / 2 - 1] + slopes[k / 2]) / 2;
        }
    }

    @Benchmark
    public double loraStep(Samples s) {
        long heapBefore = Torch.nativeMemoryInUse(), rssBefore = ProcStatus.read("VmRSS");
        ProcStatus.resetPeak();
        long[] afterForward = new long[1];
        double loss = rig.step(() -> afterForward[0] = Torch.nativeMemoryInUse());
        long hwm = ProcStatus.read("VmHWM");
        if (s.n < Samples.MAX) {
            s.heap[s.n] = Torch.nativeMemoryInUse();
            s.rss[s.n] = ProcStatus.read("VmRSS");
            s.footprint[s.n] = ProcStatus.mallocFootprint();
            if (s.n == 0) {
                s.live0 = Tensor.liveCount();
                s.leaked0 = Tensor.leakedCount();
            }
            s.live1 = Tensor.liveCount();
            s.leaked1 = Tensor.leakedCount();
            s.n++;
        }
        s.activation = Math.max(s.activation, afterForward[0] - heapBefore);
        s.stepPeak = Math.max(s.stepPeak, hwm - rssBefore);
        s.highest = Math.max(s.highest, hwm);
        return loss;
    }

    /** /proc/self/status fields, in bytes, the reset of the RSS high-water mark, and malloc's footprint. */
    static final class ProcStatus {
        private ProcStatus() {}

        /** Bytes malloc has from the system (arenas and mmapped chunks), or -1. */
        static long mallocFootprint() {
            io.higgs4j.torch.Torch.MallocStats m = io.higgs4j.torch.Torch.mallocStats();
            return m == null ? -1 : m.held();
        }

        static long read(String field) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith(field + ":")) {
                        return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").trim()) * 1024;
                    }
                }
            } catch (IOException | NumberFormatException e) {
                return -1;
            }
            return -1;
        }

        /** Writing 5 to /proc/self/clear_refs resets VmHWM to the current RSS (Linux 4.0+); ignored where refused. */
        static void resetPeak() {
            try {
                Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            } catch (IOException | SecurityException e) {
                // the high-water mark then covers the whole run; stepPeakRssBytes and peakRssOverModelBytes still bound it
            }
        }
    }
}
