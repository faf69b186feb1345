package io.higgs4j.torch;

/**
 * Picks the convolution kernel for {@link Tensor#conv1d}. On CUDA this is aten::conv1d (cuDNN). On the CPU,
 * aten::conv1d probes NNPACK first and logs "Could not initialize NNPACK" on every call where NNPACK cannot start, so
 * the backend is called directly: aten::mkldnn_convolution (oneDNN, what conv1d picks for float32 and bfloat16) or,
 * for other dtypes and builds without oneDNN, aten::thnn_conv2d over [B, in, 1, T] (im2col and a matrix product;
 * aten::conv1d where dilation or groups exceed 1). All have autograd.
 */
final class Convolution {

    /** Whether oneDNN convolution works for float32, bfloat16 (cleared on the first refusal). */
    private static final boolean[] MKLDNN = {true, true};

    private Convolution() {}

    static Tensor conv1d(Tensor x, Tensor weight, Tensor bias, long stride, long padding, long dilation, long groups) {
        long[] st = {stride}, pad = {padding}, dil = {dilation};
        if (x.device().type() != Device.Type.CPU) return Ops.conv1d(x, weight, bias, st, pad, dil, groups);
        int slot = x.dtype() == DType.FLOAT32 ? 0 : x.dtype() == DType.BFLOAT16 ? 1 : -1;
        if (slot >= 0 && MKLDNN[slot]) {
            try {
                return Ops.mkldnn_convolution(x, weight, bias, pad, st, dil, groups);
            } catch (TorchException e) {
                MKLDNN[slot] = false; // a libtorch built without oneDNN, or without this dtype
            }
        }
        if (dilation != 1 || groups != 1) return Ops.conv1d(x, weight, bias, st, pad, dil, groups);
        try (Scope s = Scope.open()) {
            Tensor out = Ops.thnn_conv2d(x.unsqueeze(2), weight.unsqueeze(2), new long[] {1, weight.size(2)}, bias,
                    new long[] {1, stride}, new long[] {0, padding});
            return Scope.keep(out.squeeze(2));
        }
    }
}
