package io.higgs4j.nn;

import io.higgs4j.torch.Tensor;

/** Rows of weight [num, dim] by index; the paddingIdx row (if >= 0) gets no gradient, as in torch.nn.Embedding. */
public class Embedding extends Module {
    public final long numEmbeddings, dim, paddingIdx;
    private final Parameter weight;

    public Embedding(long numEmbeddings, long dim, long paddingIdx, Init init) {
        this.numEmbeddings = numEmbeddings;
        this.dim = dim;
        this.paddingIdx = paddingIdx;
        this.weight = parameter("weight", init.normal(numEmbeddings, dim));
    }

    /** The embedding table, [rows, dim]. */
    public Tensor weight() { return weight.get(); }

    /** The rows of the table at indices: indices' shape plus [dim]. */
    public Tensor forward(Tensor indices) {
        return Tensor.embedding(weight.get(), indices, paddingIdx);
    }
}
