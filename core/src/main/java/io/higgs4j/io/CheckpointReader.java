package io.higgs4j.io;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Tensor;

import java.nio.file.Path;
import java.util.List;

/**
 * Named tensors read from checkpoint files, whatever their format (safetensors, torch.save): what loading a module's
 * weights needs. Messages of the implementations name the file and the tensor at fault.
 */
public interface CheckpointReader extends AutoCloseable {

    /** The file or directory this was opened from. */
    Path path();

    /** Every tensor name, in the file's order. */
    List<String> names();

    DType dtype(String name);

    /** The tensor's dimensions (empty for a 0-dim tensor); a copy. */
    long[] shape(String name);

    /** A new contiguous CPU tensor of the stored dtype and shape, owned by the current scope if any. */
    Tensor load(String name);

    /**
     * Loads a tensor converted to dtype {@code as} (e.g. a bfloat16 checkpoint into float32 master weights), rounding
     * as torch's {@code .to(dtype)} does. Only the converted tensor remains; the stored-dtype copy is freed.
     */
    default Tensor load(String name, DType as) {
        Tensor raw = load(name);
        if (raw.dtype() == as) return raw;
        try {
            return raw.to(as);
        } finally {
            raw.close();
        }
    }

    @Override
    void close();
}
