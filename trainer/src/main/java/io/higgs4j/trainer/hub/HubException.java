package io.higgs4j.trainer.hub;

import java.io.IOException;

/** A model id that cannot be made a local directory: offline, unreachable, refused, unknown or a corrupt download. */
public class HubException extends IOException {

    public HubException(String message) {
        super(message);
    }

    public HubException(String message, Throwable cause) {
        super(message, cause);
    }
}
