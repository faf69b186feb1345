package io.higgs4j.torch;

/** A libtorch call failed, or its arguments were refused before the call; the message names the op and its arguments. */
public class TorchException extends RuntimeException {
    public TorchException(String message) {
        super(message);
    }
}
