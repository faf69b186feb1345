package io.higgs4j.nn;

import io.higgs4j.torch.Tensor;

/** A module with one tensor in and one out, so it can stand in a {@link Sequential}. */
public interface Layer {
    Tensor forward(Tensor x);
}
