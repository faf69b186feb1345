package io.higgs4j.trainer.dist;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Tensor;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;

class TcpProcessGroupTest {

    /** Short timeouts; 64-byte chunks so that every tensor travels in several chunks. */
    static final TcpProcessGroup.Options FAST = new TcpProcessGroup.Options(Duration.ofSeconds(20), 40, Duration.ofMillis(50),
            Duration.ofSeconds(20), 64);

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Runs body as world ranks, one thread each; the results by rank (an exception is returned, not thrown). */
    static <T> List<Object> ranks(int world, Function<Integer, T> body) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(world);
        try {
            List<Future<T>> fs = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                int rank = r;
                fs.add(pool.submit(() -> body.apply(rank)));
            }
            List<Object> out = new ArrayList<>();
            for (Future<T> f : fs) {
                try {
                    out.add(f.get(60, TimeUnit.SECONDS));
                } catch (java.util.concurrent.ExecutionException e) {
                    out.add(e.getCause());
                }
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    record Seen(float[] mean32, float[] meanBf16, double[] doubles, float[] broadcast, byte[] id) {}

    @Test
    void collectivesGiveTheSameResultOnEveryRank() throws Exception {
        int port = freePort(), world = 3;
        List<Object> seen = ranks(world, rank -> {
            try (TcpProcessGroup g = TcpProcessGroup.connect(rank, world, "127.0.0.1", port, FAST)) {
                float[] v = new float[37];
                for (int i = 0; i < v.length; i++) v[i] = (rank + 1) * (i + 0.1f);
                Tensor a = Tensor.of(v, 37), b = Tensor.of(v, 37).to(io.higgs4j.torch.Device.CPU, DType.BFLOAT16);
                g.allReduceMean(List.of(a, b));
                double[] d = g.allReduceMean(new double[] {rank, 10.0 * rank, 1});
                Tensor c = Tensor.of(new float[] {rank, rank, rank, rank, rank}, 5);
                g.broadcast(List.of(c), 1);
                g.barrier();
                byte[] id = g.exchangeUniqueId(rank == 0 ? new byte[] {7, 8, 9} : null);
                return new Seen(a.toFloatArray(), b.toFloatArray(), d, c.toFloatArray(), id);
            }
        });
        for (Object o : seen) if (o instanceof Throwable t) fail(t);
        Seen s0 = (Seen) seen.get(0);
        for (int i = 0; i < 37; i++) assertEquals(2 * (i + 0.1f), s0.mean32()[i], 1e-5f * (i + 1), "mean of 1x, 2x, 3x is 2x");
        for (int i = 0; i < 37; i++) assertEquals(2 * (i + 0.1f), s0.meanBf16()[i], 0.02f * (i + 1), "bf16");
        assertArrayEquals(new double[] {1, 10, 1}, s0.doubles(), 1e-12);
        assertArrayEquals(new float[] {1, 1, 1, 1, 1}, s0.broadcast(), "broadcast from rank 1");
        assertArrayEquals(new byte[] {7, 8, 9}, s0.id());
        for (Object o : seen) {
            Seen s = (Seen) o;
            assertArrayEquals(s0.mean32(), s.mean32(), 0f, "bit-identical on every rank");
            assertArrayEquals(s0.meanBf16(), s.meanBf16(), 0f);
            assertArrayEquals(s0.doubles(), s.doubles(), 0.0);
            assertArrayEquals(s0.broadcast(), s.broadcast(), 0f);
            assertArrayEquals(s0.id(), s.id());
        }
    }

    @Test
    void nobodyListeningFailsAfterBoundedRetries() throws Exception {
        int port = freePort();
        var o = new TcpProcessGroup.Options(Duration.ofSeconds(5), 3, Duration.ofMillis(50), Duration.ofSeconds(5), 1 << 20);
        long t0 = System.nanoTime();
        var e = assertThrows(DistributedException.class, () -> TcpProcessGroup.connect(1, 2, "127.0.0.1", port, o));
        assertTrue((System.nanoTime() - t0) < 10_000_000_000L);
        assertTrue(e.getMessage().contains("rank 1") && e.getMessage().contains("127.0.0.1:" + port)
                && e.getMessage().contains("3 attempts"), e.getMessage());
    }

    @Test
    void wrongWorldSizeFailsBothRanks() throws Exception {
        int port = freePort();
        List<Object> r = ranks(2, rank -> TcpProcessGroup.connect(rank, rank == 0 ? 2 : 3, "127.0.0.1", port, FAST));
        for (Object o : r) {
            assertInstanceOf(DistributedException.class, o, String.valueOf(o));
            String m = ((Throwable) o).getMessage();
            assertTrue(m.contains("WORLD_SIZE 3") && m.contains("127.0.0.1:" + port), m);
        }
    }

    @Test
    void duplicateRankIsNamed() throws Exception {
        int port = freePort();
        List<Object> r = ranks(3, rank -> TcpProcessGroup.connect(Math.min(rank, 1), 3, "127.0.0.1", port, FAST));
        String m = ((Throwable) r.get(0)).getMessage();
        assertTrue(m.contains("rank 1 connected twice") && m.contains("127.0.0.1:" + port), m);
    }

    @Test
    void aFailingRankMakesTheOthersFailFast() throws Exception {
        int port = freePort();
        long t0 = System.nanoTime();
        List<Object> r = ranks(3, rank -> {
            TcpProcessGroup g = TcpProcessGroup.connect(rank, 3, "127.0.0.1", port, FAST);
            if (rank == 2) {
                g.abort("out of memory in step 7");
                return "aborted";
            }
            if (rank == 1) {
                g.close(); // as a process that died would
                return "closed";
            }
            return g.allReduceMean(new double[] {1});
        });
        assertTrue((System.nanoTime() - t0) < 15_000_000_000L, "no waiting for the read timeout");
        String m = ((Throwable) r.get(0)).getMessage();
        assertTrue(m.startsWith("rank 0: ") && (m.contains("rank 1 at /127.0.0.1") || m.contains("rank 2 at /127.0.0.1")), m);
    }

    @Test
    void environmentWithoutLocalRankIsOneProcess() {
        assertSame(ProcessGroups.single(), ProcessGroups.fromEnvironment(java.util.Map.of(), "cpu", io.higgs4j.torch.Device.CPU));
        assertSame(ProcessGroups.single(), ProcessGroups.fromEnvironment(java.util.Map.of("LOCAL_RANK", "-1", "WORLD_SIZE", "4"),
                "cpu", io.higgs4j.torch.Device.CPU));
        assertSame(ProcessGroups.single(), ProcessGroups.fromEnvironment(java.util.Map.of("LOCAL_RANK", "0", "WORLD_SIZE", "1"),
                "cpu", io.higgs4j.torch.Device.CPU));
        var e = assertThrows(IllegalArgumentException.class, () -> ProcessGroups.fromEnvironment(
                java.util.Map.of("LOCAL_RANK", "0", "RANK", "0", "WORLD_SIZE", "2", "MASTER_PORT", "1"), "nccl", io.higgs4j.torch.Device.CPU));
        assertTrue(e.getMessage().contains("needs a CUDA device"), e.getMessage());
    }
}
