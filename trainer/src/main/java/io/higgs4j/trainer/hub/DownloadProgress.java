package io.higgs4j.trainer.hub;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Download progress on stderr: the file, MB done of MB total and the rate. On a terminal one line is rewritten at
 * most four times a second; elsewhere (a log) a line is added at most every few seconds. Each file ends with a line.
 */
final class DownloadProgress {

    private final PrintStream out;
    private final boolean terminal;
    private final long intervalNanos;
    private String label;
    private long total, start, lastPrint, resumedFrom;
    private boolean printed;

    DownloadProgress(PrintStream out, boolean terminal, long intervalMillis) {
        this.out = out;
        this.terminal = terminal;
        this.intervalNanos = intervalMillis * 1_000_000L;
    }

    /** For stderr: rewrites a line on a terminal (4 a second), adds one every 5 s otherwise. */
    static DownloadProgress stderr(PrintStream err) {
        boolean terminal = System.console() != null && System.console().isTerminal();
        return new DownloadProgress(err, terminal, terminal ? 250 : 5000);
    }

    /** A file starts (or resumes from {@code done} bytes); total is -1 when unknown. */
    void start(String label, long done, long total) {
        this.label = label;
        this.total = total;
        this.start = System.nanoTime();
        this.lastPrint = start;
        this.resumedFrom = done;
        this.printed = false;
        if (done > 0) line(done, " (resuming)");
    }

    void update(long done) {
        long now = System.nanoTime();
        if (now - lastPrint < intervalNanos) return;
        lastPrint = now;
        line(done, "");
    }

    void finish(long done) {
        line(done, " done");
        if (terminal) out.println();
        out.flush();
    }

    /** Ends a rewritten line before another message is printed. */
    void interrupt(String message) {
        if (terminal && printed) out.println();
        out.println(message);
        out.flush();
        printed = false;
    }

    private void line(long done, String suffix) {
        double seconds = (System.nanoTime() - start) / 1e9;
        String rate = seconds > 0.5 && done > resumedFrom ? String.format(Locale.ROOT, ", %.1f MB/s", (done - resumedFrom) / 1e6 / seconds) : "";
        boolean kb = total >= 0 ? total < 1_000_000 : done < 1_000_000; // small files in kB, the rest in MB
        String text = String.format(Locale.ROOT, "  %s: %s%s %s%s%s", label, amount(done, kb), total >= 0 ? " / " + amount(total, kb) : "",
                kb ? "kB" : "MB", rate, suffix);
        if (terminal) {
            out.print("\r" + text + "\u001b[K");
        } else {
            out.println(text);
        }
        out.flush();
        printed = true;
    }

    private static String amount(long bytes, boolean kb) {
        return String.format(Locale.ROOT, "%.1f", bytes / (kb ? 1e3 : 1e6));
    }
}
