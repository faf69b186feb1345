package io.higgs4j.trainer.dist;

/** A failed rendezvous or collective; its message names the rank and the address involved. */
public final class DistributedException extends RuntimeException {
    public DistributedException(String message) {
        super(message);
    }

    public DistributedException(String message, Throwable cause) {
        super(message, cause);
    }
}
