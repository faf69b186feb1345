package io.higgs4j.trainer.prepare;

import java.util.Locale;

/** A clip left out, with the reason (a report key) and what was wrong. */
public record Skipped(String what, Reason reason, String message) {

    public enum Reason {
        NO_TRANSCRIPT, EMPTY_TRANSCRIPT, MISSING_AUDIO, UNREADABLE_AUDIO, TOO_SHORT, TOO_LONG, ONLY_CLIP_OF_SPEAKER, BAD_LINE;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
