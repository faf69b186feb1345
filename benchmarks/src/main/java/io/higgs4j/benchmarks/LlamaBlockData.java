package io.higgs4j.benchmarks;

import java.util.Random;

/**
 * The dimensions and the deterministic contents (weights, input, RoPE tables) of the one Llama-style decoder layer
 * that {@link LlamaBlockBenchmark} (higgs4j) and {@link JavaCppLlamaBlockBenchmark} (JavaCPP) both run. Plain Java
 * arrays only: this class touches neither binding, so each benchmark copies the very same floats into its own
 * tensors and the two losses can be compared.
 *
 * <p>Dimensions are one layer of the {@code small} Higgs config: hidden 512, 8 query heads and 2 key/value heads of
 * 64, MLP intermediate 1408, RMSNorm eps 1e-5, RoPE theta 500000.
 */
final class LlamaBlockData {

    static final int HIDDEN = 512;
    static final int HEADS = 8;
    static final int KV_HEADS = 2;
    static final int HEAD_DIM = 64;
    static final int INTERMEDIATE = 1408;
    static final double RMS_EPS = 1e-5;
    static final double ROPE_THETA = 500000;

    /** The seven bias-free linears in the order both benchmarks keep them: q, k, v, o, gate, up, down. */
    static final String[] LINEARS = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

    private LlamaBlockData() {}

    /** [out, in] of linear i (index into {@link #LINEARS}), as in torch.nn.Linear. */
    static long[] linearShape(int i) {
        return switch (i) {
            case 0, 3 -> new long[] {HIDDEN, HIDDEN};
            case 1, 2 -> new long[] {KV_HEADS * HEAD_DIM, HIDDEN};
            case 4, 5 -> new long[] {INTERMEDIATE, HIDDEN};
            case 6 -> new long[] {HIDDEN, INTERMEDIATE};
            default -> throw new IllegalArgumentException("no linear " + i);
        };
    }

    /** Weights of linear i: uniform in +-1/sqrt(in) (torch.nn.Linear's default range), from seed 100 + i. */
    static float[] linearWeight(int i) {
        long[] s = linearShape(i);
        Random r = new Random(100 + i);
        float bound = (float) (1 / Math.sqrt(s[1]));
        float[] w = new float[Math.toIntExact(s[0] * s[1])];
        for (int j = 0; j < w.length; j++) w[j] = (2 * r.nextFloat() - 1) * bound;
        return w;
    }

    /** RMSNorm weight n (0 = input norm, 1 = post-attention norm): 1 + 0.1 N(0, 1), from seed 200 + n. */
    static float[] normWeight(int n) {
        Random r = new Random(200 + n);
        float[] w = new float[HIDDEN];
        for (int j = 0; j < w.length; j++) w[j] = (float) (1 + 0.1 * r.nextGaussian());
        return w;
    }

    /** The input hidden states [1, seqLen, 512], N(0, 1), from seed 300. */
    static float[] input(int seqLen) {
        Random r = new Random(300);
        float[] x = new float[seqLen * HIDDEN];
        for (int j = 0; j < x.length; j++) x[j] = (float) r.nextGaussian();
        return x;
    }

    /**
     * RoPE tables [seqLen, 64]: {cos, sin} of position * theta^(-2i/64), with the 32 frequencies repeated for both
     * halves (the rotate_half layout), computed in double and rounded to float.
     */
    static float[][] rope(int seqLen) {
        int half = HEAD_DIM / 2;
        float[] cos = new float[seqLen * HEAD_DIM], sin = new float[seqLen * HEAD_DIM];
        for (int p = 0; p < seqLen; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * Math.pow(ROPE_THETA, -2.0 * i / HEAD_DIM);
                float c = (float) Math.cos(angle), s = (float) Math.sin(angle);
                cos[p * HEAD_DIM + i] = c;
                cos[p * HEAD_DIM + half + i] = c;
                sin[p * HEAD_DIM + i] = s;
                sin[p * HEAD_DIM + half + i] = s;
            }
        }
        return new float[][] {cos, sin};
    }
}
