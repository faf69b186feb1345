package io.higgs4j.trainer.dist;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.GradMode;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The {@code --backend cpu} process group: a star of TCP connections through rank 0, on one machine or several.
 *
 * <p>Rendezvous: rank 0 listens at MASTER_ADDR:MASTER_PORT; every other rank connects (a bounded number of tries,
 * {@link Options#connectAttempts} x {@link Options#retryDelay}) and says its rank and world size; rank 0 checks them
 * (a duplicate rank, a rank out of range or another world size fails every rank with a message naming the rank and
 * the address) and answers everyone once all have come.
 *
 * <p>All-reduce: every rank sends its bytes to rank 0, which sums them in float64, in rank order, divides by the
 * world size, rounds once to the tensor's dtype (float32, bfloat16, float16 or float64) and sends the result back;
 * every rank, rank 0 included, takes those same bytes, so the results are bit-identical on every rank. Tensors travel
 * in chunks of {@link Options#chunkBytes}, in native byte order (the handshake checks that every rank has the same).
 *
 * <p>Failures: a peer that closes, answers too late ({@link Options#readTimeout}) or sends what this rank did not
 * expect fails the collective with a {@link DistributedException} naming both ranks and the address; the group then
 * tells the others ({@link #abort}) and closes its sockets, so no rank waits forever.
 */
public final class TcpProcessGroup implements ProcessGroup {

    /** Timeouts and sizes. */
    public record Options(Duration readTimeout, int connectAttempts, Duration retryDelay, Duration rendezvousTimeout, int chunkBytes) {
        public Options {
            if (connectAttempts < 1) throw new IllegalArgumentException("connectAttempts must be >= 1");
            if (chunkBytes < 64) throw new IllegalArgumentException("chunkBytes must be >= 64");
        }

        /** 300 s per read, 60 connection tries 0.5 s apart, 300 s for everyone to arrive, 8 MiB chunks. */
        public static Options defaults() {
            return new Options(Duration.ofSeconds(300), 60, Duration.ofMillis(500), Duration.ofSeconds(300), 8 << 20);
        }

        /** The defaults, with HIGGS4J_DIST_TIMEOUT_S (seconds) as the read and rendezvous timeout when set. */
        public static Options fromEnvironment(Map<String, String> env) {
            Options d = defaults();
            String t = env.get("HIGGS4J_DIST_TIMEOUT_S");
            if (t == null || t.isBlank()) return d;
            Duration to = Duration.ofSeconds(Long.parseLong(t.trim()));
            return new Options(to, d.connectAttempts(), d.retryDelay(), to, d.chunkBytes());
        }
    }

    private static final int MAGIC = 0x4834_4A44, VERSION = 1;
    private static final int OP_DATA = 1, OP_ABORT = 2;
    private static final int ALL_REDUCE = 1, BROADCAST = 2, BARRIER = 3, BYTES = 4;
    private static final String[] KIND = {"?", "all-reduce", "broadcast", "barrier", "unique-id exchange"};
    private static final Duration HANDSHAKE_READ = Duration.ofSeconds(10);

    private static final class Peer {
        final int rank;
        final Socket socket;
        final DataInputStream in;
        final DataOutputStream out;
        final String address;

        Peer(int rank, Socket socket, String address) throws IOException {
            this.rank = rank;
            this.socket = socket;
            this.address = address;
            this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
            this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 16));
        }

        void closeQuietly() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    private final int rank, world;
    private final String masterAddress;
    private final Options options;
    private final Peer[] peers; // rank 0: peers[r] for r >= 1; others: peers[0], the connection to rank 0
    private long seq;
    private volatile boolean closed;
    private volatile String closedBecause;

    private TcpProcessGroup(int rank, int world, String masterAddress, Options options, Peer[] peers) {
        this.rank = rank;
        this.world = world;
        this.masterAddress = masterAddress;
        this.options = options;
        this.peers = peers;
    }

    // =====================================================================================================
    // Rendezvous
    // =====================================================================================================

    /** Joins the group: rank 0 listens at host:port, the others connect there. Returns once all ranks have come. */
    public static TcpProcessGroup connect(int rank, int worldSize, String host, int port, Options options) {
        if (worldSize < 1) throw new IllegalArgumentException("world size must be >= 1, got " + worldSize);
        if (rank < 0 || rank >= worldSize) throw new IllegalArgumentException("rank " + rank + " is outside [0, " + worldSize + ")");
        String address = host + ":" + port;
        return rank == 0 ? listen(worldSize, host, port, address, options) : join(rank, worldSize, host, port, address, options);
    }

    private static TcpProcessGroup listen(int world, String host, int port, String address, Options o) {
        Peer[] peers = new Peer[world];
        List<Peer> accepted = new ArrayList<>();
        try (ServerSocket server = new ServerSocket()) {
            server.setReuseAddress(true);
            try {
                server.bind(new InetSocketAddress(host, port), Math.max(world, 8));
            } catch (IOException e) {
                throw new DistributedException("rank 0: cannot listen at " + address + ": " + e.getMessage()
                        + " (is the port in use? choose another --master_port / MASTER_PORT)", e);
            }
            long deadline = System.nanoTime() + o.rendezvousTimeout().toNanos();
            int arrived = 0, tries = 0, maxTries = 4 * world + 16;
            while (arrived < world - 1) {
                if (++tries > maxTries) throw new DistributedException("rank 0 at " + address + ": " + maxTries + " connections without a complete group");
                long leftMs = (deadline - System.nanoTime()) / 1_000_000;
                if (leftMs <= 0) throw missing(peers, world, address, o);
                server.setSoTimeout((int) Math.min(Integer.MAX_VALUE, leftMs));
                Socket s;
                try {
                    s = server.accept();
                } catch (SocketTimeoutException e) {
                    throw missing(peers, world, address, o);
                }
                String from = String.valueOf(s.getRemoteSocketAddress());
                Peer p;
                int theirRank, theirWorld;
                boolean theirLittle;
                try {
                    s.setTcpNoDelay(true);
                    s.setSoTimeout((int) HANDSHAKE_READ.toMillis());
                    p = new Peer(-1, s, from);
                    if (p.in.readInt() != MAGIC || p.in.readInt() != VERSION) {
                        s.close(); // a stranger, or another version: not one of ours
                        continue;
                    }
                    theirRank = p.in.readInt();
                    theirWorld = p.in.readInt();
                    theirLittle = p.in.readBoolean();
                } catch (IOException e) {
                    s.close();
                    continue;
                }
                accepted.add(p);
                String problem = null;
                if (theirWorld != world) {
                    problem = "rank " + theirRank + " (from " + from + ") has WORLD_SIZE " + theirWorld + " but rank 0 at " + address + " has " + world;
                } else if (theirRank <= 0 || theirRank >= world) {
                    problem = "a process (from " + from + ") says it is rank " + theirRank + ", outside [1, " + world + ") for rank 0 at " + address;
                } else if (peers[theirRank] != null) {
                    problem = "rank " + theirRank + " connected twice to rank 0 at " + address + " (from " + peers[theirRank].address
                            + " and from " + from + "): check RANK";
                } else if (theirLittle != (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN)) {
                    problem = "rank " + theirRank + " (from " + from + ") has another byte order than rank 0 at " + address;
                }
                if (problem != null) {
                    for (Peer q : accepted) reply(q, problem);
                    for (Peer q : accepted) q.closeQuietly();
                    throw new DistributedException("rank 0: " + problem);
                }
                peers[theirRank] = new Peer(theirRank, s, from);
                arrived++;
            }
            for (int r = 1; r < world; r++) {
                peers[r].socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, o.readTimeout().toMillis()));
                reply(peers[r], null);
            }
            return new TcpProcessGroup(0, world, address, o, peers);
        } catch (IOException e) {
            for (Peer q : accepted) q.closeQuietly();
            throw new DistributedException("rank 0 at " + address + ": rendezvous failed: " + e, e);
        } catch (RuntimeException e) {
            for (Peer q : accepted) q.closeQuietly();
            for (Peer q : peers) if (q != null) q.closeQuietly();
            throw e;
        }
    }

    private static DistributedException missing(Peer[] peers, int world, String address, Options o) {
        TreeSet<Integer> missing = new TreeSet<>();
        for (int r = 1; r < world; r++) if (peers[r] == null) missing.add(r);
        for (Peer q : peers) if (q != null) q.closeQuietly();
        return new DistributedException("rank 0 at " + address + ": ranks " + missing + " of WORLD_SIZE " + world
                + " did not connect within " + o.rendezvousTimeout().toSeconds() + " s");
    }

    private static void reply(Peer p, String problem) {
        try {
            p.out.writeInt(problem == null ? 0 : 1);
            p.out.writeUTF(problem == null ? "" : problem);
            p.out.flush();
        } catch (IOException ignored) {
            // it will see the connection close
        }
    }

    private static TcpProcessGroup join(int rank, int world, String host, int port, String address, Options o) {
        IOException last = null;
        long t0 = System.nanoTime();
        Socket s = null;
        for (int attempt = 1; attempt <= o.connectAttempts() && s == null; attempt++) {
            Socket c = new Socket();
            try {
                c.connect(new InetSocketAddress(host, port), (int) Math.max(1000, Math.min(10_000, o.retryDelay().toMillis() * 10)));
                s = c;
            } catch (IOException e) {
                last = e;
                try {
                    c.close();
                } catch (IOException ignored) {
                    // not connected
                }
                if (attempt < o.connectAttempts()) sleep(o.retryDelay());
            }
        }
        if (s == null) {
            throw new DistributedException(String.format("rank %d: could not connect to rank 0 at %s after %d attempts in %.1f s (%s):"
                            + " is rank 0 running, and are MASTER_ADDR and MASTER_PORT right?", rank, address, o.connectAttempts(),
                    (System.nanoTime() - t0) / 1e9, last == null ? "?" : last.getMessage()), last);
        }
        try {
            s.setTcpNoDelay(true);
            s.setSoTimeout((int) Math.min(Integer.MAX_VALUE, o.rendezvousTimeout().toMillis()));
            Peer p = new Peer(0, s, address);
            p.out.writeInt(MAGIC);
            p.out.writeInt(VERSION);
            p.out.writeInt(rank);
            p.out.writeInt(world);
            p.out.writeBoolean(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN);
            p.out.flush();
            int status = p.in.readInt();
            String message = p.in.readUTF();
            if (status != 0) {
                p.closeQuietly();
                throw new DistributedException("rank " + rank + ": rank 0 at " + address + " refused the group: " + message);
            }
            s.setSoTimeout((int) Math.min(Integer.MAX_VALUE, o.readTimeout().toMillis()));
            Peer[] peers = new Peer[1];
            peers[0] = p;
            return new TcpProcessGroup(rank, world, address, o, peers);
        } catch (IOException e) {
            try {
                s.close();
            } catch (IOException ignored) {
                // failing anyway
            }
            throw new DistributedException("rank " + rank + ": rendezvous with rank 0 at " + address + " failed: "
                    + (e instanceof SocketTimeoutException ? "no answer within " + o.rendezvousTimeout().toSeconds() + " s" : e.toString()), e);
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DistributedException("interrupted while connecting", e);
        }
    }

    // =====================================================================================================
    // Collectives
    // =====================================================================================================

    @Override public int rank() { return rank; }

    @Override public int worldSize() { return world; }

    /** MASTER_ADDR:MASTER_PORT. */
    public String masterAddress() { return masterAddress; }

    @Override
    public void allReduceMean(List<Tensor> tensors) {
        for (Tensor t : tensors) {
            DType dt = t.dtype();
            if (dt != DType.FLOAT32 && dt != DType.BFLOAT16 && dt != DType.FLOAT16 && dt != DType.FLOAT64) {
                throw new IllegalArgumentException("allReduceMean: " + dt + " tensors are not supported (float32, bfloat16, float16, float64)");
            }
        }
        if (world == 1) return;
        for (Tensor t : tensors) {
            long bytes = t.numel() * t.dtype().elementSize();
            if (bytes == 0) continue;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment seg = a.allocate(bytes, 8);
                t.copyTo(seg);
                long step = (options.chunkBytes() / 8) * 8L;
                byte[] buf = new byte[(int) Math.min(step, bytes)];
                long s = begin();
                for (long off = 0; off < bytes; off += step) {
                    int len = (int) Math.min(step, bytes - off);
                    MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, off, buf, 0, len);
                    reduce(buf, len, t.dtype(), ALL_REDUCE, s);
                    MemorySegment.copy(buf, 0, seg, ValueLayout.JAVA_BYTE, off, len);
                }
                writeBack(t, seg);
            }
        }
    }

    @Override
    public double[] allReduceMean(double[] values) {
        if (world == 1) return values.clone();
        byte[] buf = new byte[values.length * 8];
        MemorySegment m = MemorySegment.ofArray(buf);
        for (int i = 0; i < values.length; i++) m.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, values[i]);
        reduce(buf, buf.length, DType.FLOAT64, ALL_REDUCE, begin());
        double[] out = new double[values.length];
        for (int i = 0; i < out.length; i++) out[i] = m.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
        return out;
    }

    @Override
    public void barrier() {
        if (world == 1) return;
        reduce(new byte[0], 0, DType.FLOAT64, BARRIER, begin());
    }

    @Override
    public void broadcast(List<Tensor> tensors, int root) {
        if (root < 0 || root >= world) throw new IllegalArgumentException("broadcast root " + root + " is outside [0, " + world + ")");
        if (world == 1) return;
        for (Tensor t : tensors) {
            long bytes = t.numel() * t.dtype().elementSize();
            if (bytes == 0) continue;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment seg = a.allocate(bytes, 8);
                if (rank == root) t.copyTo(seg);
                long step = options.chunkBytes();
                byte[] buf = new byte[(int) Math.min(step, bytes)];
                long s = begin();
                for (long off = 0; off < bytes; off += step) {
                    int len = (int) Math.min(step, bytes - off);
                    if (rank == root) MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, off, buf, 0, len);
                    relay(buf, len, root, BROADCAST, s);
                    if (rank != root) MemorySegment.copy(buf, 0, seg, ValueLayout.JAVA_BYTE, off, len);
                }
                if (rank != root) writeBack(t, seg);
            }
        }
    }

    /**
     * Rank 0's bytes, on every rank (for NCCL's unique id): rank 0 passes its id and gets it back; the others pass
     * anything (null) and get rank 0's.
     */
    public byte[] exchangeUniqueId(byte[] idOnRank0) {
        if (rank == 0 && idOnRank0 == null) throw new IllegalArgumentException("rank 0 must give the id");
        if (world == 1) return idOnRank0.clone();
        long s = begin();
        if (rank == 0) {
            for (int r = 1; r < world; r++) send(peers[r], BYTES, s, idOnRank0, idOnRank0.length);
            return idOnRank0.clone();
        }
        return receive(peers[0], BYTES, s, null, -1);
    }

    private static void writeBack(Tensor t, MemorySegment seg) {
        try (GradMode g = Torch.noGrad(); Tensor src = Tensor.copyOf(seg, t.dtype(), t.shape())) {
            t.copy_(src);
        }
    }

    private long begin() {
        if (closed) throw new DistributedException("rank " + rank + ": the process group (rank 0 at " + masterAddress + ") is closed"
                + (closedBecause == null ? "" : ": " + closedBecause));
        return ++seq;
    }

    /** buf[0, len) becomes the mean over the ranks, as rank 0 computes it. */
    private void reduce(byte[] buf, int len, DType dt, int kind, long s) {
        if (rank != 0) {
            send(peers[0], kind, s, buf, len);
            receive(peers[0], kind, s, buf, len);
            return;
        }
        int es = dt.elementSize(), n = len / es;
        double[] acc = new double[n];
        MemorySegment mine = MemorySegment.ofArray(buf);
        add(acc, mine, dt);
        byte[] other = new byte[len];
        MemorySegment theirs = MemorySegment.ofArray(other);
        for (int r = 1; r < world; r++) {
            receive(peers[r], kind, s, other, len);
            add(acc, theirs, dt);
        }
        for (int i = 0; i < n; i++) store(mine, i, acc[i] / world, dt);
        for (int r = 1; r < world; r++) send(peers[r], kind, s, buf, len);
    }

    /** root's buf[0, len) on every rank, through rank 0. */
    private void relay(byte[] buf, int len, int root, int kind, long s) {
        if (rank == 0) {
            if (root != 0) receive(peers[root], kind, s, buf, len);
            for (int r = 1; r < world; r++) if (r != root) send(peers[r], kind, s, buf, len);
        } else if (rank == root) {
            send(peers[0], kind, s, buf, len);
        } else {
            receive(peers[0], kind, s, buf, len);
        }
    }

    private static void add(double[] acc, MemorySegment m, DType dt) {
        switch (dt) {
            case FLOAT32 -> { for (int i = 0; i < acc.length; i++) acc[i] += m.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i); }
            case FLOAT64 -> { for (int i = 0; i < acc.length; i++) acc[i] += m.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i); }
            case BFLOAT16 -> { for (int i = 0; i < acc.length; i++) acc[i] += Float.intBitsToFloat((m.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i) & 0xFFFF) << 16); }
            case FLOAT16 -> { for (int i = 0; i < acc.length; i++) acc[i] += Float.float16ToFloat(m.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i)); }
            default -> throw new IllegalArgumentException(dt.toString());
        }
    }

    private static void store(MemorySegment m, int i, double v, DType dt) {
        switch (dt) {
            case FLOAT32 -> m.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) v);
            case FLOAT64 -> m.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, v);
            case BFLOAT16 -> m.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, toBf16((float) v));
            case FLOAT16 -> m.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16((float) v));
            default -> throw new IllegalArgumentException(dt.toString());
        }
    }

    /** float32 to bfloat16, rounding to nearest even (as torch does). */
    static short toBf16(float f) {
        if (Float.isNaN(f)) return (short) 0x7FC0;
        int bits = Float.floatToRawIntBits(f);
        bits += 0x7FFF + ((bits >>> 16) & 1);
        return (short) (bits >>> 16);
    }

    // =====================================================================================================
    // Frames: [op][kind][seq][length][bytes], or [OP_ABORT][reason]
    // =====================================================================================================

    private void send(Peer p, int kind, long s, byte[] buf, int len) {
        try {
            synchronized (p) {
                p.out.writeInt(OP_DATA);
                p.out.writeInt(kind);
                p.out.writeLong(s);
                p.out.writeInt(len);
                p.out.write(buf, 0, len);
                p.out.flush();
            }
        } catch (IOException e) {
            throw fail(p, "sending a " + KIND[kind] + " to rank " + p.rank + " at " + p.address + " failed: " + e.getMessage(), e);
        }
    }

    /** Reads one frame from p into buf (expected == -1: a new array of the frame's length). */
    private byte[] receive(Peer p, int kind, long s, byte[] buf, int expected) {
        try {
            int op = p.in.readInt();
            if (op == OP_ABORT) {
                String reason = p.in.readUTF();
                throw fail(p, "rank " + p.rank + " at " + p.address + " aborted: " + reason, null);
            }
            if (op != OP_DATA) throw fail(p, "rank " + p.rank + " at " + p.address + " sent an unknown frame " + op, null);
            int k = p.in.readInt();
            long theirSeq = p.in.readLong();
            int len = p.in.readInt();
            if (k != kind || theirSeq != s) {
                throw fail(p, "rank " + p.rank + " at " + p.address + " is in " + KIND[Math.max(0, Math.min(k, 4))] + " #" + theirSeq
                        + " while rank " + rank + " is in " + KIND[kind] + " #" + s + ": the ranks called different collectives", null);
            }
            if (expected >= 0 && len != expected) {
                throw fail(p, "rank " + p.rank + " at " + p.address + " sent " + len + " bytes where rank " + rank + " expected "
                        + expected + " (" + KIND[kind] + " #" + s + "): the ranks' tensors differ", null);
            }
            if (len < 0) throw fail(p, "rank " + p.rank + " at " + p.address + " sent a negative length", null);
            byte[] into = expected < 0 ? new byte[len] : buf;
            p.in.readFully(into, 0, len);
            return into;
        } catch (SocketTimeoutException e) {
            throw fail(p, "no answer from rank " + p.rank + " at " + p.address + " within " + options.readTimeout().toSeconds()
                    + " s (" + KIND[kind] + " #" + s + ")", e);
        } catch (EOFException e) {
            throw fail(p, "rank " + p.rank + " at " + p.address + " closed the connection (" + KIND[kind] + " #" + s
                    + "): did it exit?", e);
        } catch (IOException e) {
            throw fail(p, "lost rank " + p.rank + " at " + p.address + " (" + KIND[kind] + " #" + s + "): " + e.getMessage(), e);
        }
    }

    /** Tells the others (rank 0 relays for everyone), closes, and returns the exception to throw. */
    private DistributedException fail(Peer p, String what, Throwable cause) {
        String message = "rank " + rank + ": " + what;
        abort(what);
        return new DistributedException(message, cause);
    }

    @Override
    public void abort(String reason) {
        if (closed) return;
        closedBecause = reason;
        String r = reason == null ? "no reason given" : reason;
        if (r.length() > 8000) r = r.substring(0, 8000) + "...";
        String said = r.startsWith("rank ") ? r : "rank " + rank + ": " + r;
        List<Thread> senders = new ArrayList<>();
        for (Peer p : peers) {
            if (p == null) continue;
            // A peer that is itself stuck must not hold this rank: each goodbye gets its own thread and at most 2 s.
            Thread t = Thread.ofVirtual().start(() -> {
                try {
                    synchronized (p) {
                        p.out.writeInt(OP_ABORT);
                        p.out.writeUTF(said);
                        p.out.flush();
                    }
                } catch (IOException | RuntimeException ignored) {
                    // it is gone already
                }
            });
            senders.add(t);
        }
        long deadline = System.nanoTime() + 2_000_000_000L;
        for (Thread t : senders) {
            try {
                t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        close();
    }

    @Override
    public void close() {
        closed = true;
        for (Peer p : peers) if (p != null) p.closeQuietly();
    }

    @Override
    public String toString() {
        return "TcpProcessGroup(rank " + rank + " of " + world + ", rank 0 at " + masterAddress + ")";
    }
}
