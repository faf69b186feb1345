package io.higgs4j.tokenizer;

import io.higgs4j.nn.Init;
import io.higgs4j.nn.Linear;
import io.higgs4j.nn.Module;
import io.higgs4j.nn.ModuleList;
import io.higgs4j.nn.Parameter;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.TorchException;

/**
 * The residual vector quantiser ({@code quantizer}; xcodec's ResidualVectorQuantizer around
 * {@code vq.layers.N}): each layer projects the residual to codebookDim, picks the nearest of its {@code bins}
 * codebook vectors (Euclidean), projects it back and subtracts it from the residual. Only inference is implemented:
 * the codebooks are the checkpoint's EMA buffers and are not updated.
 */
public final class ResidualVectorQuantizer extends Module {
    public final Vq vq;
    public final int dimension, codebookDim, bins;

    public ResidualVectorQuantizer(int dimension, int codebookDim, int nQ, int bins, Init init) {
        this.dimension = dimension;
        this.codebookDim = codebookDim;
        this.bins = bins;
        vq = child("vq", new Vq(dimension, codebookDim, nQ, bins, init));
    }

    public int numQuantizers() {
        return vq.layers.size();
    }

    /** x [B, dimension, T] -> codes [nQ, B, T] (int64), using the first nQ layers. */
    public Tensor encode(Tensor x, int nQ) {
        if (x.dim() != 3 || x.size(1) != dimension) {
            throw new TorchException("quantizer expects [B, " + dimension + ", T], got " + java.util.Arrays.toString(x.shape()));
        }
        if (nQ < 1 || nQ > numQuantizers()) throw new IllegalArgumentException("nQ " + nQ + " not in 1.." + numQuantizers());
        try (Scope s = Scope.open()) {
            Tensor residual = x.transpose(1, 2);
            java.util.List<Tensor> codes = new java.util.ArrayList<>();
            for (int i = 0; i < nQ; i++) {
                VectorQuantization layer = vq.layers.get(i);
                Tensor indices = layer.encode(residual);
                residual = residual.sub(layer.decode(indices));
                codes.add(indices);
            }
            return Scope.keep(Tensor.stack(codes, 0));
        }
    }

    /** codes [K, B, T] (K up to nQ) -> the sum of the layers' vectors, [B, dimension, T]. */
    public Tensor decode(Tensor codes) {
        if (codes.dim() != 3 || codes.size(0) < 1 || codes.size(0) > numQuantizers()) {
            throw new TorchException("quantizer codes must be [K <= " + numQuantizers() + ", B, T], got "
                    + java.util.Arrays.toString(codes.shape()));
        }
        try (Scope s = Scope.open()) {
            Tensor sum = null;
            for (int i = 0; i < codes.size(0); i++) {
                Tensor q = vq.layers.get(i).decode(codes.select(0, i));
                sum = sum == null ? q : sum.add(q);
            }
            return Scope.keep(sum.transpose(1, 2));
        }
    }

    /** The ModuleList holder, named as in the reference ({@code vq.layers}). */
    public static final class Vq extends Module {
        public final ModuleList<VectorQuantization> layers;

        Vq(int dimension, int codebookDim, int nQ, int bins, Init init) {
            layers = child("layers", new ModuleList<>());
            for (int i = 0; i < nQ; i++) layers.add(new VectorQuantization(dimension, codebookDim, bins, init));
        }
    }

    /** One quantiser: {@code project_in} and {@code project_out} (absent when codebookDim equals the dimension), {@code _codebook}. */
    public static final class VectorQuantization extends Module {
        public final Linear projectIn, projectOut;
        public final EuclideanCodebook codebook;

        VectorQuantization(int dimension, int codebookDim, int bins, Init init) {
            boolean project = codebookDim != dimension;
            projectIn = project ? child("project_in", new Linear(dimension, codebookDim, true, init)) : null;
            projectOut = project ? child("project_out", new Linear(codebookDim, dimension, true, init)) : null;
            codebook = child("_codebook", new EuclideanCodebook(codebookDim, bins, init));
        }

        /** x [B, T, dimension] -> indices [B, T]. */
        public Tensor encode(Tensor x) {
            try (Scope s = Scope.open()) {
                return Scope.keep(codebook.encode(projectIn == null ? x : projectIn.forward(x)));
            }
        }

        /** indices [B, T] -> [B, T, dimension]. */
        public Tensor decode(Tensor indices) {
            try (Scope s = Scope.open()) {
                Tensor q = codebook.decode(indices);
                return Scope.keep(projectOut == null ? q : projectOut.forward(q));
            }
        }
    }

    /**
     * The codebook and its training buffers, as the checkpoint stores them: {@code inited} [1], {@code cluster_size}
     * [bins], {@code embed} [bins, dim] (the vectors) and {@code embed_avg} [bins, dim].
     */
    public static final class EuclideanCodebook extends Module {
        public final int bins;
        private final Parameter embed;

        EuclideanCodebook(int dim, int bins, Init init) {
            this.bins = bins;
            parameter("inited", init.ones(1));
            parameter("cluster_size", init.zeros(bins));
            // kaiming_uniform_ on [bins, dim]: bound sqrt(6 / fan_in) with fan_in = dim, as the reference's uniform_init.
            Tensor vectors = init.uniform(Math.sqrt(6.0 / dim), bins, dim);
            embed = parameter("embed", vectors);
            parameter("embed_avg", vectors.clone());
        }

        public Tensor embed() {
            return embed.get();
        }

        /**
         * x [..., dim] -> the index of the nearest vector, [...]: the argmax of -(|x|^2 - 2 x e + |e|^2), computed as
         * the reference does (the first index wins a tie).
         */
        public Tensor encode(Tensor x) {
            try (Scope s = Scope.open()) {
                long[] shape = x.shape();
                Tensor flat = x.reshape(-1, shape[shape.length - 1]);
                Tensor e = embed().mT();
                Tensor dist = flat.pow(2).sum(1, true).sub(flat.matmul(e).mul(2)).add(e.pow(2).sum(0, true)).neg();
                Tensor ind = dist.argmax(-1, false);
                return Scope.keep(ind.view(java.util.Arrays.copyOf(shape, shape.length - 1)));
            }
        }

        /** indices [...] -> the vectors, [..., dim]. */
        public Tensor decode(Tensor indices) {
            return Tensor.embedding(embed(), indices);
        }
    }
}
