package io.higgs4j.trainer.train;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.util.Locale;

/**
 * What the user sees during training: on a terminal, one progress line rewritten in place (step, loss, it/s, ETA);
 * otherwise plain log lines every loggingSteps steps. Either way each logged step carries loss, text and audio loss,
 * learning rate, grad norm, tokens/s and memory.
 */
public final class Progress {
    private static final Logger LOG = LoggerFactory.getLogger(Progress.class);
    private final boolean terminal;
    private final PrintStream out;
    private long total, first;
    private long startNanos;

    public Progress(boolean terminal, PrintStream out) {
        this.terminal = terminal;
        this.out = out;
    }

    public static Progress forConsole() {
        return new Progress(System.console() != null && System.console().isTerminal(), System.err);
    }

    void start(long fromStep, long totalSteps) {
        first = fromStep;
        total = totalSteps;
        startNanos = System.nanoTime();
    }

    void step(StepMetrics m, int loggingSteps) {
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        double itPerS = (m.step() - first) / Math.max(elapsed, 1e-9);
        double eta = (total - m.step()) / Math.max(itPerS, 1e-9);
        String line = String.format(Locale.ROOT,
                "step %d/%d  loss %.4f (text %.4f, audio %.4f)  lr %.3g  grad_norm %.3f  %.0f tokens/s  mem %d MiB  %.2f it/s  ETA %s",
                m.step(), total, m.loss(), m.textLoss(), m.audioLoss(), m.lr(), m.gradNorm(), m.tokensPerSecond(),
                m.memBytes() >> 20, itPerS, duration(eta));
        if (terminal) {
            out.print("\r" + line + "   ");
            out.flush();
        } else if (loggingSteps <= 1 || m.step() % loggingSteps == 0 || m.step() == total) {
            LOG.info(line);
            if (Memory.BREAKDOWN) LOG.info(Memory.breakdown());
        }
    }

    void finish(boolean interrupted) {
        if (terminal) out.println();
        if (interrupted) LOG.info("stopped on request");
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60) : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
}
