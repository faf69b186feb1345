package io.higgs4j.safetensors;

import java.nio.file.Path;

/**
 * A safetensors file or checkpoint is malformed, inconsistent, or could not be read or written. The message names the
 * file and, where one is at fault, the tensor; {@link #file()} and {@link #tensor()} give them to code.
 */
public class SafetensorsException extends RuntimeException {

    private final Path file;
    private final String tensor;

    public SafetensorsException(Path file, String tensor, String message) {
        this(file, tensor, message, null);
    }

    public SafetensorsException(Path file, String tensor, String message, Throwable cause) {
        super(describe(file, tensor, message), cause);
        this.file = file;
        this.tensor = tensor;
    }

    private static String describe(Path file, String tensor, String message) {
        StringBuilder sb = new StringBuilder();
        if (file != null) sb.append(file).append(": ");
        if (tensor != null) sb.append("tensor '").append(tensor).append("': ");
        return sb.append(message).toString();
    }

    /** The file at fault (a .safetensors file or an index), or null when none is. */
    public Path file() {
        return file;
    }

    /** The tensor at fault, or null when the fault is not one tensor's. */
    public String tensor() {
        return tensor;
    }
}
