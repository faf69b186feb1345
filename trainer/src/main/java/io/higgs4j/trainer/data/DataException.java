package io.higgs4j.trainer.data;

/** A data set that cannot be used at all (missing file, no valid sample, a broken JSON array); the message says why. */
public final class DataException extends IllegalArgumentException {
    public DataException(String message) {
        super(message);
    }
}
