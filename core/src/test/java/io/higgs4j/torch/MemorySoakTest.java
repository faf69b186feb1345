package io.higgs4j.torch;

import io.higgs4j.optim.AdamW;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Native memory stays flat over 10,000 training-style iterations, each in its own scope. */
class MemorySoakTest {

    static long rssKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    private static long median(List<Long> values) {
        List<Long> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
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
            try (AdamW opt = new AdamW(List.of(w1, w2, emb), AdamW.Options.defaults(1e-3))) {
                long live = Tensor.liveCount();
                int iterations = 10_000, warmup = 1_000, every = 500;
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
                    }
                    assertEquals(live, Tensor.liveCount(), "tensors alive after iteration " + i);
                    if (i >= warmup && i % every == 0) {
                        // The JVM keeps native bookkeeping of its own (G1's remembered sets, say) that a collection
                        // returns; collect first so that what remains is memory nobody can free.
                        System.gc();
                        heap.add(Torch.nativeMemoryInUse());
                        rss.add(rssKiB() * 1024);
                    }
                }
                // The C heap also holds the JVM's own allocations (JIT, GC), which still move by a few MiB either way
                // from one sample to the next; the medians of the first and last thirds of the run see through that.
                List<Long> series = heap.getFirst() > 0 ? heap : rss; // RSS only where glibc's mallinfo2 is missing
                int third = series.size() / 3;
                long early = median(series.subList(0, third)), late = median(series.subList(series.size() - third, series.size()));
                double growth = (late - early) / (double) early;
                System.out.printf("native memory (%s), median of iterations %d-%d: %d bytes; of the last third: %d bytes (%+.2f%%)%n",
                        series == heap ? "C heap in use" : "RSS", warmup, warmup + third * every, early, late, growth * 100);
                assertTrue(growth < 0.05, "native memory grew by " + (growth * 100) + "% over " + iterations + " iterations: " + series);
            }
        }
    }
}
