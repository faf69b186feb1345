package io.higgs4j.torch;

import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Catches the reason libtorch gives for a failed call. libtorch 2.10's C ABI reports a failure only by a return code;
 * the exception's text goes to std::cerr as {@code [E... shim_common.cpp:N] Exception in aoti_torch: <what>}, with a
 * C++ backtrace inside {@code <what>}. std::cerr writes through C's {@code stderr} FILE, and that FILE alone is pointed
 * at a pipe (its file descriptor field is set; Java's System.err and the JVM write to descriptor 2 directly and are
 * untouched). A daemon thread reads the pipe: failure reports are held for the thread whose call failed, everything
 * else libtorch prints (warnings) goes on to the real stderr as it comes.
 *
 * <p>A thread whose call failed writes a marker into the pipe and waits until the reader reaches it. Its report was
 * printed before the call returned, so it is the last report ahead of the marker; older unclaimed reports go to stderr.
 * Two threads failing at the same instant may see each other's reason (or none); one thread never does.
 *
 * <p>Only on glibc (the FILE layout is checked first); elsewhere reasons stay on stderr, as before.
 */
final class LibtorchStderr {

    private static final String REPORT = "] Exception in aoti_torch: ";
    private static final byte MARKER = 0; // starts a marker line; libtorch's text never holds a NUL
    /** Offset of _fileno in glibc's struct _IO_FILE on 64-bit Linux (after the flags word and 13 pointers). */
    private static final long FILENO_OFFSET = 112;
    private static final int GLIBC_FILE_MAGIC = 0xFBAD0000;
    private static final long WAIT_MS = 2000;
    private static final long STALE_NANOS = TimeUnit.SECONDS.toNanos(2);

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();

    private static final AtomicLong NEXT_MARKER = new AtomicLong();
    private static final Map<Long, CompletableFuture<String>> WAITING = new ConcurrentHashMap<>();
    private static volatile int pipeWrite = -1;
    private static volatile Thread reader;

    private LibtorchStderr() {}

    /** Starts capturing, once; false where it cannot (not glibc, no pipe). */
    static synchronized boolean start() {
        if (reader != null) return true;
        try {
            MethodHandle pipe = libc("pipe", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
            MemorySegment stderrVar = LIBC.find("stderr").orElse(null);
            if (pipe == null || stderrVar == null || LIBC.find("gnu_get_libc_version").isEmpty()) return false;
            MemorySegment file = stderrVar.reinterpret(8).get(ValueLayout.ADDRESS, 0).reinterpret(FILENO_OFFSET + 4);
            if ((file.get(ValueLayout.JAVA_INT, 0) & 0xFFFF0000) != GLIBC_FILE_MAGIC
                    || file.get(ValueLayout.JAVA_INT, FILENO_OFFSET) != 2) {
                return false;
            }
            MemorySegment fds = Arena.global().allocate(ValueLayout.JAVA_INT, 2);
            if ((int) pipe.invokeExact(fds) != 0) return false;
            int readFd = fds.getAtIndex(ValueLayout.JAVA_INT, 0);
            pipeWrite = fds.getAtIndex(ValueLayout.JAVA_INT, 1);
            Thread t = Thread.ofPlatform().daemon().name("higgs4j-libtorch-stderr").unstarted(new Reader(readFd));
            t.start();
            reader = t;
            file.set(ValueLayout.JAVA_INT, FILENO_OFFSET, pipeWrite);
            return true;
        } catch (Throwable e) {
            return false;
        }
    }

    private static MethodHandle libc(String name, FunctionDescriptor d) {
        return LIBC.find(name).map(a -> LINKER.downcallHandle(a, d)).orElse(null);
    }

    private static final MethodHandle WRITE = libc("write",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle READ = libc("read",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));

    /**
     * libtorch's full report of the call that just failed on this thread (the text after "Exception in aoti_torch: "),
     * or empty when nothing is captured. Call only after a call returned failure: it waits for the report.
     */
    static Optional<String> lastFailure() {
        Thread r = reader;
        if (r == null || !r.isAlive()) return Optional.empty();
        long id = NEXT_MARKER.incrementAndGet();
        CompletableFuture<String> report = new CompletableFuture<>();
        WAITING.put(id, report);
        try (Arena a = Arena.ofConfined()) {
            byte[] marker = ("\0" + id + "\n").getBytes(StandardCharsets.US_ASCII);
            MemorySegment m = a.allocate(marker.length);
            MemorySegment.copy(marker, 0, m, ValueLayout.JAVA_BYTE, 0, marker.length);
            if ((long) WRITE.invokeExact(pipeWrite, m, (long) marker.length) != marker.length) return Optional.empty();
            return Optional.ofNullable(report.get(WAIT_MS, TimeUnit.MILLISECONDS));
        } catch (Throwable e) {
            return Optional.empty();
        } finally {
            WAITING.remove(id);
        }
    }

    /** The first line of a report, shortened to its first sentence when long: what a message should say. */
    static String shortReason(String report) {
        int nl = report.indexOf('\n');
        String first = (nl < 0 ? report : report.substring(0, nl)).strip();
        if (first.length() <= 240) return first;
        int sentence = first.indexOf(". ");
        if (sentence > 0 && sentence < 240) return first.substring(0, sentence + 1);
        return first.substring(0, 240) + "...";
    }

    /** Reads the pipe, sorts lines into reports and plain output, and answers markers. */
    private static final class Reader implements Runnable {
        private final int fd;
        private final OutputStream realStderr = new FileOutputStream(FileDescriptor.err);
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        /** Complete reports not yet claimed, oldest first, with the time each was finished. */
        private final Deque<String> reports = new ArrayDeque<>();
        private final Deque<Long> reportTimes = new ArrayDeque<>();
        private StringBuilder report; // the report being read, or null

        Reader(int fd) {
            this.fd = fd;
        }

        @Override
        public void run() {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(1 << 16);
                while (true) {
                    long n = (long) READ.invokeExact(fd, buf, buf.byteSize());
                    if (n < 0) continue; // EINTR
                    if (n == 0) return;
                    for (long i = 0; i < n; i++) {
                        byte b = buf.get(ValueLayout.JAVA_BYTE, i);
                        line.write(b);
                        if (b == '\n') lineEnded();
                    }
                    flushPlainPartialLine();
                    forwardStaleReports();
                }
            } catch (Throwable e) {
                // The reader is gone: failures fall back to "printed on stderr"; libtorch's writes to a pipe nobody
                // reads would block, so stderr goes back to descriptor 2 first.
                restoreStderr();
            }
        }

        private void lineEnded() throws IOException {
            byte[] bytes = line.toByteArray();
            line.reset();
            if (bytes.length > 0 && bytes[0] == MARKER) {
                finishReport();
                answer(Long.parseLong(new String(bytes, 1, bytes.length - 2, StandardCharsets.US_ASCII)));
                return;
            }
            String text = new String(bytes, StandardCharsets.UTF_8);
            if (text.contains(REPORT) && logSeverity(text) == 'E') {
                finishReport();
                report = new StringBuilder(text.substring(text.indexOf(REPORT) + REPORT.length()));
            } else if (report != null && !isLogRecord(text)) {
                report.append(text);
            } else {
                finishReport();
                realStderr.write(bytes);
            }
        }

        /** Text with no newline yet that is no report: passed on now (libtorch ends its own records with one). */
        private void flushPlainPartialLine() throws IOException {
            if (line.size() == 0 || report != null) return;
            byte[] bytes = line.toByteArray();
            if (bytes[0] == MARKER || bytes[0] == '[') return;
            line.reset();
            realStderr.write(bytes);
        }

        private static boolean isLogRecord(String text) {
            return logSeverity(text) != 0;
        }

        /**
         * The severity letter of a log line, or 0 for other text: c10's own logger writes [E1204 07:39:46.503298212
         * file.cpp:507], a libtorch built with glog E1204 07:39:46.503298 12345 file.cpp:507].
         */
        private static char logSeverity(String text) {
            int at = text.startsWith("[") ? 1 : 0;
            if (text.length() < at + 5) return 0;
            char c = text.charAt(at);
            boolean digits = true;
            for (int i = at + 1; i < at + 5; i++) digits &= Character.isDigit(text.charAt(i));
            return digits && "EWIF".indexOf(c) >= 0 ? c : 0;
        }

        private void finishReport() {
            if (report == null) return;
            reports.addLast(report.toString());
            reportTimes.addLast(System.nanoTime());
            report = null;
        }

        /** The newest report goes to the marker's thread; older ones were nobody's and go to stderr. */
        private void answer(long marker) throws IOException {
            String mine = reports.pollLast();
            reportTimes.pollLast();
            while (!reports.isEmpty()) {
                reportTimes.pollFirst();
                realStderr.write(("Exception in aoti_torch: " + reports.pollFirst()).getBytes(StandardCharsets.UTF_8));
            }
            CompletableFuture<String> waiting = WAITING.get(marker);
            if (waiting != null) waiting.complete(mine);
            else if (mine != null) realStderr.write(("Exception in aoti_torch: " + mine).getBytes(StandardCharsets.UTF_8));
        }

        private void forwardStaleReports() throws IOException {
            long now = System.nanoTime();
            while (!reportTimes.isEmpty() && now - reportTimes.peekFirst() > STALE_NANOS) {
                reportTimes.pollFirst();
                realStderr.write(("Exception in aoti_torch: " + reports.pollFirst()).getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    private static void restoreStderr() {
        try {
            MemorySegment stderrVar = LIBC.find("stderr").orElseThrow();
            MemorySegment file = stderrVar.reinterpret(8).get(ValueLayout.ADDRESS, 0).reinterpret(FILENO_OFFSET + 4);
            file.set(ValueLayout.JAVA_INT, FILENO_OFFSET, 2);
        } catch (RuntimeException ignored) {
            // nothing more to do
        }
        reader = null;
    }
}
