package io.higgs4j.torch;

import io.higgs4j.optim.AdamW;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Native memory stays flat over 14,000 training-style iterations, each in its own scope. The iteration includes the
 * ops Tensor builds without a str argument (gelu, pad, stft): through libtorch 2.10's dispatcher each str leaked 48
 * bytes per call (pytorch/pytorch#191340), which this test caught as a steady climb.
 */
class MemorySoakTest {

    static long rssKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    @Test
    void tenThousandTrainingIterationsKeepNativeMemoryFlat() throws IOException {
        Torch.manualSeed(1);
        try (Scope model = Scope.open()) {
            Tensor w1 = Scope.keep(Tensor.randn(64, 32).mul(0.1)).requiresGrad(true);
            Tensor w2 = Scope.keep(Tensor.randn(10, 64).mul(0.1)).requiresGrad(true);
            Tensor x = Tensor.randn(16, 32);
            Tensor labels = Tensor.of(new long[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, -100});
            Tensor emb = Tensor.randn(100, 32).requiresGrad(true);
            Tensor ids = Tensor.of(new long[] {1, 5, 9, 3});
            Tensor signal = Tensor.randn(1, 256);
            try (AdamW opt = new AdamW(List.of(w1, w2, emb), AdamW.Options.defaults(1e-3))) {
                long live = Tensor.liveCount();
                // Each sample costs a collection and the JVM's report, which leave a KiB or two behind themselves: a
                // thousand iterations between samples makes that about 2 bytes an iteration. The first few thousand
                // iterations still fill glibc's and libtorch's caches (tens of KiB a thousand, falling): not measured.
                int iterations = 14_000, warmup = 4_000, every = 1_000;
                NativeHeap.inUseWithoutTheJvm(); // its first call starts the JVM's management beans: not in the series
                List<Long> heap = new ArrayList<>(), rss = new ArrayList<>();
                for (int i = 0; i < iterations; i++) {
                    try (Scope step = Scope.open()) {
                        Tensor h = x.add(Tensor.embedding(emb, ids).mean(0, true)).linear(w1).gelu();
                        Tensor logits = h.dropout(0.1, true).linear(w2);
                        Tensor loss = logits.crossEntropy(labels, -100).add(logits.pow(2).mean().mul(1e-4));
                        loss.backward();
                        opt.step();
                        opt.zeroGrad();
                        List<Tensor> parts = logits.split(4, 0);
                        assertEquals(4, parts.size());
                        h.pad(new long[] {1, 2}, "reflect", null).pad(new long[] {1, 1}, "constant", 0.5);
                        signal.stft(64, 16, 64, null, true, "reflect", false, true);
                    }
                    assertEquals(live, Tensor.liveCount(), "tensors alive after iteration " + i);
                    if (i >= warmup && i % every == 0) {
                        // The JVM keeps native bookkeeping of its own (G1's remembered sets, say) that a collection
                        // returns; collect first so that what remains is memory nobody can free.
                        System.gc();
                        heap.add(NativeHeap.inUseWithoutTheJvm());
                        rss.add(rssKiB() * 1024);
                    }
                }
                // The C heap also holds the JVM's own allocations (JIT arenas above all), which move by megabytes at a
                // time: NativeHeap leaves them out where the JVM tracks them (the test JVM does). A leak adds the same
                // bytes every iteration: the median of the climbs from one sample to the next sees it and not a step.
                List<Long> series = heap.getFirst() > 0 ? heap : rss; // RSS only where glibc's mallinfo2 is missing
                double perIteration = NativeHeap.medianClimb(series) / every;
                System.out.printf("native memory (%s) from iteration %d on: %s; median climb %.1f bytes per iteration%n",
                        series == rss ? "RSS" : NativeHeap.jvmTracked() ? "C heap in use less the JVM's own" : "C heap in use",
                        warmup, series, perIteration);
                // Between 2 and 8 bytes an iteration here without a leak (the samples' own costs); a leaked tensor or graph
                // per iteration is hundreds. A leaked small block per op call is OpLeakTest's to find, to the byte.
                assertTrue(perIteration < 32, "native memory climbs by " + perIteration + " bytes per iteration: " + series);
            }
        }
    }
}
