package io.higgs4j.torch;

/**
 * A libtorch call failed, or its arguments were refused before the call. The message names the op and its arguments
 * and, for a failure inside libtorch, gives libtorch's reason (its first line; with the environment variable
 * {@code HIGGS4J_DEBUG=1}, libtorch's whole report with its C++ backtrace).
 */
public class TorchException extends RuntimeException {
    public TorchException(String message) {
        super(message);
    }
}
