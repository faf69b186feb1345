package io.higgs4j.torch;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/**
 * gelu, pad and stft, which Tensor builds from ops without a str argument (libtorch 2.10 leaks every str it is passed),
 * against libtorch's own aten::gelu, aten::pad and aten::stft reached through the escape hatch, on the same inputs.
 */
class StringFreeOpsTest {

    private static void assertSame(Tensor expected, Tensor actual, float tolerance, String what) {
        assertClose(expected, actual, tolerance, 0f, what);
    }

    /** Each element within absolute + relative * |expected| of libtorch's. */
    private static void assertClose(Tensor expected, Tensor actual, float absolute, float relative, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        assertEquals(expected.dtype(), actual.dtype(), what + ": dtype");
        Tensor e = expected.dtype().isComplex() ? expected.viewAsReal() : expected;
        Tensor a = actual.dtype().isComplex() ? actual.viewAsReal() : actual;
        float[] ev = e.to(DType.FLOAT32).contiguous().toFloatArray(), av = a.to(DType.FLOAT32).contiguous().toFloatArray();
        for (int i = 0; i < ev.length; i++) {
            if (Math.abs(ev[i] - av[i]) > absolute + relative * Math.abs(ev[i])) {
                fail(what + ": element " + i + " is " + av[i] + ", libtorch's op gives " + ev[i]);
            }
        }
    }

    /**
     * libtorch's GeluKernel evaluates erf (and tanh) with its own vectorised code, not the erf op's, so the last bits
     * differ from libtorch's float32 gelu. Both are held to libtorch's float64 gelu: ours must be as close as libtorch's
     * own float32 gelu is, and within float32 rounding (about 1e-6 where 1 + erf(x) cancels, for x below -3).
     */
    @Test
    void geluIsAsCloseToTheFloat64GeluAsLibtorchsFloat32Gelu() {
        try (Scope s = Scope.open()) {
            Torch.manualSeed(3);
            Tensor x = Tensor.randn(1031).mul(4.0); // an odd length: the kernels' vector tails are compared too
            for (boolean tanh : new boolean[] {false, true}) {
                String approximate = tanh ? "tanh" : "none";
                Tensor exact = Aten.callTensor("aten::gelu", "", x.to(DType.FLOAT64), approximate).to(DType.FLOAT32);
                Tensor ours = x.gelu(tanh), libtorchs = Aten.callTensor("aten::gelu", "", x, approximate);
                assertClose(exact, ours, 1.5e-6f, 1e-6f, "gelu(tanh=" + tanh + ") against float64");
                double oursError = ours.sub(exact).abs().max().item(), libtorchsError = libtorchs.sub(exact).abs().max().item();
                assertTrue(oursError <= Math.max(libtorchsError, 1e-7), "gelu(tanh=" + tanh + ") is off the float64 gelu by "
                        + oursError + ", libtorch's float32 gelu by " + libtorchsError);
            }
        }
    }

    @Test
    void geluInBfloat16IsLibtorchsToOneRounding() {
        try (Scope s = Scope.open()) {
            Torch.manualSeed(4);
            Tensor x = Tensor.randn(777).mul(3.0).to(DType.BFLOAT16);
            for (boolean tanh : new boolean[] {false, true}) {
                Tensor expected = Aten.callTensor("aten::gelu", "", x, tanh ? "tanh" : "none");
                // one bfloat16 rounding step (2^-8 relative) at most
                assertClose(expected, x.gelu(tanh), 1e-6f, 1f / 256, "bf16 gelu(tanh=" + tanh + ")");
            }
        }
    }

    @Test
    void geluGradientIsLibtorchsGeluBackward() {
        try (Scope s = Scope.open()) {
            Torch.manualSeed(5);
            Tensor x = Tensor.randn(64, 9).mul(3.0);
            Tensor upstream = Tensor.randn(64, 9);
            for (boolean tanh : new boolean[] {false, true}) {
                Tensor leaf = x.detach().requiresGrad(true);
                leaf.gelu(tanh).mul(upstream).sum().backward();
                Tensor expected = Aten.callTensor("aten::gelu_backward", "", upstream, x, tanh ? "tanh" : "none");
                assertSame(expected, leaf.grad(), 2e-6f, "gelu'(tanh=" + tanh + ")");
            }
        }
    }

    @Test
    void geluRefusesAnIntegerTensor() {
        try (Scope s = Scope.open()) {
            var e = assertThrows(IllegalArgumentException.class, () -> Tensor.of(new long[] {1, 2}).gelu());
            assertTrue(e.getMessage().contains("floating-point"), e.getMessage());
        }
    }

    private static Tensor atenPad(Tensor x, long[] pad, String mode, Double value) {
        return Aten.callTensor("aten::pad", "", x, pad, mode, value == null ? Aten.NONE : Aten.some(value));
    }

    @Test
    void padIsLibtorchsPadInEveryMode() {
        try (Scope s = Scope.open()) {
            Torch.manualSeed(6);
            // reflect and replicate take 1, 2 or 3 pairs for a 3-, 4- or 5-d input (batched), as libtorch's kernels do
            Tensor x3 = Tensor.randn(2, 3, 6), x4 = Tensor.randn(2, 3, 5, 6), x5 = Tensor.randn(1, 2, 3, 5, 6);
            Object[][] cases = {
                    {new long[] {1, 2}, "constant", null}, {new long[] {2, 0, 0, 3}, "constant", 7.5},
                    {new long[] {-1, 2, 1, -2}, "constant", -1.0}, {new long[] {-2, -1}, "constant", null},
                    {new long[] {1, 1, 0, 2, 3, 0}, "constant", null}, {new long[] {0, 0}, "constant", null},
                    {new long[] {2, 3}, "reflect", null}, {new long[] {1, 2, 3, 1}, "reflect", null},
                    {new long[] {1, 1, 2, 2, 1, 1}, "reflect", null},
                    {new long[] {2, 1}, "replicate", null}, {new long[] {1, 2, 3, 1}, "replicate", null},
                    {new long[] {1, 0, 0, 1, 1, 1}, "replicate", null},
                    {new long[] {2, 1}, "circular", null}, {new long[] {1, 2, 2, 1}, "circular", null},
            };
            for (Object[] c : cases) {
                long[] pad = (long[]) c[0];
                Tensor x = c[1].equals("constant") ? x4 : switch (pad.length) { case 2 -> x3; case 4 -> x4; default -> x5; };
                String mode = (String) c[1];
                Double value = (Double) c[2];
                String what = "pad(" + Arrays.toString(pad) + ", " + mode + ", " + value + ")";
                assertSame(atenPad(x, pad, mode, value), x.pad(pad, mode, value), 0f, what);
            }
        }
    }

    @Test
    void constantPadOfOnlyCroppingIsACopyNotAView() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 2, 3, 4});
            Tensor cropped = x.pad(new long[] {-1, 0}, "constant", null);
            cropped.copy_(Tensor.zeros(3));
            assertArrayEquals(new float[] {1, 2, 3, 4}, x.toFloatArray());
        }
    }

    @Test
    void padGradientFlowsBackToTheInput() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 2, 3}).requiresGrad(true);
            Tensor w = Tensor.of(new float[] {1, 10, 100, 1000, 10000, 100000});
            x.pad(new long[] {1, 2}, "constant", 5.0).mul(w).sum().backward();
            assertArrayEquals(new float[] {10, 100, 1000}, x.grad().toFloatArray());
        }
    }

    @Test
    void padRefusesWhatTorchRefuses() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(2, 3);
            assertTrue(assertThrows(IllegalArgumentException.class, () -> x.pad(new long[] {1}, "constant", null))
                    .getMessage().contains("pairs"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> x.pad(new long[] {1, 1}, "mirror", null))
                    .getMessage().contains("mirror"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> x.pad(new long[] {1, 1}, "reflect", 2.0))
                    .getMessage().contains("takes no value"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> x.pad(new long[] {-2, -2}, "constant", null))
                    .getMessage().contains("cropping"));
            // reflect wider than the input: libtorch's own check, reported as a TorchException naming the op
            assertThrows(TorchException.class, () -> x.pad(new long[] {3, 3}, "reflect", null));
        }
    }

    private static Tensor atenStft(Tensor x, long nFft, long hop, long win, Tensor window, boolean center, String padMode,
                                   boolean normalized, boolean onesided) {
        return Aten.callTensor("aten::stft", "center", x, nFft, Aten.some(hop), Aten.some(win),
                window == null ? Aten.NONE : Aten.some(window), center, padMode, normalized, Aten.some(onesided),
                Aten.some(true), Aten.NONE);
    }

    @Test
    void stftIsLibtorchsStft() {
        try (Scope s = Scope.open()) {
            Torch.manualSeed(7);
            Tensor batch = Tensor.randn(2, 1000);
            Tensor hann = Tensor.of(hann(400));
            Tensor shortWindow = Tensor.of(hann(300));
            assertSame(atenStft(batch, 400, 160, 400, hann, true, "reflect", false, true),
                    batch.stft(400, 160, 400, hann, true, "reflect", false, true), 0f, "Whisper's stft");
            assertSame(atenStft(batch, 400, 100, 300, shortWindow, true, "constant", true, true),
                    batch.stft(400, 100, 300, shortWindow, true, "constant", true, true), 0f, "short window, normalized");
            assertSame(atenStft(batch, 256, 64, 200, null, false, "reflect", false, false),
                    batch.stft(256, 64, 200, null, false, "reflect", false, false), 0f, "no window, two-sided, no center");
            Tensor single = Tensor.randn(777);
            assertSame(atenStft(single, 128, 32, 128, null, true, "replicate", false, true),
                    single.stft(128, 32, 128, null, true, "replicate", false, true), 0f, "1-d signal");
        }
    }

    @Test
    void stftRefusesBadArguments() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(2, 100);
            assertTrue(assertThrows(IllegalArgumentException.class, () -> x.stft(400, 160, 400, null, false, "reflect", false, true))
                    .getMessage().contains("nFft"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> x.stft(0, 16, 1, null, true, "reflect", false, true))
                    .getMessage().contains("nFft must be positive"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> x.stft(64, 0, 64, null, true, "reflect", false, true))
                    .getMessage().contains("hopLength"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> x.stft(64, 16, 80, null, true, "reflect", false, true))
                    .getMessage().contains("winLength"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> x.stft(64, 16, 64, Tensor.ones(32), true, "reflect", false, true))
                    .getMessage().contains("window"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, 2, 100).stft(64, 16, 64, null, true, "reflect", false, true))
                    .getMessage().contains("signal"));
        }
    }

    /** The periodic Hann window, worked out here: 0.5 - 0.5 cos(2 pi n / N). */
    private static float[] hann(int n) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (float) (0.5 - 0.5 * Math.cos(2 * Math.PI * i / n));
        return w;
    }
}
