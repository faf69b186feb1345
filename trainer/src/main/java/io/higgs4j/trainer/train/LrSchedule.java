package io.higgs4j.trainer.train;

import java.util.Locale;

/**
 * Learning rate per optimizer step (0-based), as Hugging Face's schedulers give it: linear warmup from 0 over
 * warmupSteps, then cosine or linear decay to 0 at totalSteps, or constant.
 */
public record LrSchedule(Kind kind, double peak, long warmupSteps, long totalSteps) {

    public enum Kind { COSINE, LINEAR, CONSTANT;
        public static Kind parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown learning-rate schedule '" + s + "'; expected cosine, linear or constant");
            }
        }
    }

    public LrSchedule {
        if (!(peak > 0)) throw new IllegalArgumentException("learning rate must be > 0, got " + peak);
        if (warmupSteps < 0) throw new IllegalArgumentException("warmup steps must be >= 0, got " + warmupSteps);
        if (totalSteps < 1) throw new IllegalArgumentException("total steps must be >= 1, got " + totalSteps);
    }

    public double lr(long step) {
        if (step < warmupSteps) return peak * step / Math.max(1, warmupSteps);
        if (kind == Kind.CONSTANT) return peak;
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        progress = Math.min(1.0, progress);
        return switch (kind) {
            case COSINE -> peak * 0.5 * (1 + Math.cos(Math.PI * progress));
            case LINEAR -> peak * (1 - progress);
            case CONSTANT -> peak;
        };
    }
}
