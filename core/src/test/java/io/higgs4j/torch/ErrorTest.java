package io.higgs4j.torch;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Bad calls become exceptions that name the op and the arguments; the JVM never crashes. */
class ErrorTest {

    private static void assertMessageContains(Throwable e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + e.getMessage() + "' lacks '" + p + "'");
    }

    @Test
    void javaSideShapeChecksNameOpAndShapes() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.ones(2, 3), b = Tensor.ones(4, 5);
            assertMessageContains(assertThrows(TorchException.class, () -> a.matmul(b)), "matmul", "float32[2, 3]", "float32[4, 5]");
            assertMessageContains(assertThrows(TorchException.class, () -> a.add(b)), "add", "broadcast");
            assertMessageContains(assertThrows(TorchException.class, () -> a.view(4, 2)), "view", "[4, 2]");
            assertMessageContains(assertThrows(TorchException.class, () -> a.linear(Tensor.ones(3, 4))), "linear");
            assertMessageContains(assertThrows(TorchException.class, () -> a.transpose(0, 2)), "dimension 2");
            assertMessageContains(assertThrows(TorchException.class, () -> Tensor.cat(List.of(a, b), 0)), "cat");
            assertMessageContains(assertThrows(TorchException.class, () -> a.crossEntropy(Tensor.ones(2), -100)), "int64");
            assertMessageContains(assertThrows(TorchException.class, () -> a.narrow(1, 2, 5)), "narrow");
            assertMessageContains(assertThrows(TorchException.class, () -> a.maskedFill(Tensor.ones(2, 3), 0)), "bool");
        }
    }

    @Test
    void dtypeAndDeviceDisagreementIsRefusedInJava() {
        try (Scope s = Scope.open()) {
            Tensor f32 = Tensor.ones(2, 2), f64 = Tensor.ones(new long[] {2, 2}, DType.FLOAT64, Device.CPU);
            assertMessageContains(assertThrows(TorchException.class, () -> f32.matmul(f64)), "dtypes differ", "float64[2, 2]");
            Tensor meta = Tensor.empty(new long[] {2, 2}, DType.FLOAT32, Device.META);
            assertMessageContains(assertThrows(TorchException.class, () -> f32.add(meta)), "different devices", "meta");
        }
    }

    @Test
    void libtorchFailuresBecomeExceptionsNamingTheOp() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.ones(2, 3), b = Tensor.ones(4, 5);
            // Skips our Java checks: libtorch itself refuses, and the call must come back as an exception.
            TorchException e = assertThrows(TorchException.class, () -> Aten.callTensor("aten::mm", "", a, b));
            assertMessageContains(e, "aten::mm", "float32[2, 3]", "float32[4, 5]");
            Tensor weight = Tensor.ones(3, 4);
            e = assertThrows(TorchException.class, () -> Tensor.embedding(weight, Tensor.of(new long[] {0, 7})));
            assertMessageContains(e, "aten::embedding", "int64[2]");
            e = assertThrows(TorchException.class, () -> Aten.callTensor("aten::no_such_op", "", a));
            assertMessageContains(e, "aten::no_such_op");
            // The thread's call state is clean afterwards.
            assertArrayEquals(new float[] {3, 3}, a.sum(1, false).toFloatArray());
        }
    }

    @Test
    void theEscapeHatchRefusesValuesItCannotEncode() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.ones(2);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Aten.callTensor("aten::flip", "", a, new java.util.Date()));
            assertMessageContains(e, "aten::flip", "argument 1", "java.util.Date");
            assertThrows(IllegalArgumentException.class, () -> Aten.callTensor("aten::flip", "", a, null));
            assertArrayEquals(new float[] {1, 1}, Aten.callTensor("aten::flip", "", a, new long[] {0}).toFloatArray());
        }
    }

    @Test
    void readingValuesOfMetaTensorsIsRefused() {
        try (Tensor meta = Tensor.empty(new long[] {3}, DType.FLOAT32, Device.META)) {
            assertMessageContains(assertThrows(TorchException.class, meta::toFloatArray), "meta");
        }
    }

    @Test
    void badArgumentsOfCreationAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, -1));
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[] {1, 2, 3}, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> Tensor.arange(0, 5, 0));
        assertThrows(IllegalArgumentException.class, () -> Device.parse("tpu"));
        assertThrows(IllegalArgumentException.class, () -> DType.parse("float8"));
        try (Tensor i = Tensor.of(new long[] {1})) {
            assertThrows(TorchException.class, () -> i.requiresGrad(true));
        }
    }

    @Test
    void sizesAndRangesBeyondWhatFitsAreRefusedByName() {
        assertMessageContains(assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(1L << 40, 1L << 40)),
                "[1099511627776, 1099511627776]", "2^63");
        // 2^64 - 1 values: end - start overflows a long; the count must not wrap to 0
        assertMessageContains(assertThrows(IllegalArgumentException.class, () -> Tensor.arange(Long.MIN_VALUE, Long.MAX_VALUE, 1)),
                "arange", "Java array");
        assertMessageContains(assertThrows(IllegalArgumentException.class, () -> Tensor.arange(0, 3_000_000_000L, 1)), "arange");
        assertMessageContains(assertThrows(IllegalArgumentException.class, () -> Tensor.arange(0.0, Double.NaN, 1.0)), "finite");
        assertMessageContains(assertThrows(IllegalArgumentException.class, () -> Tensor.arange(0.0, Double.POSITIVE_INFINITY, 1.0)), "finite");
        assertMessageContains(assertThrows(IllegalArgumentException.class, () -> Tensor.arange(0.0, 1e12, 1.0)), "arange");
        try (Tensor r = Tensor.arange(Long.MAX_VALUE - 2, Long.MAX_VALUE, 1); Tensor d = Tensor.arange(5, -1, -2)) {
            assertArrayEquals(new long[] {Long.MAX_VALUE - 2, Long.MAX_VALUE - 1}, r.toLongArray());
            assertArrayEquals(new long[] {5, 3, 1}, d.toLongArray(), "as torch.arange(5, -1, -2)");
        }
    }

    @Test
    void attentionWithoutKeyHeadsIsRefused() {
        try (Scope s = Scope.open()) {
            Tensor q = Tensor.ones(1, 2, 3, 4), none = Tensor.ones(1, 0, 3, 4);
            assertMessageContains(assertThrows(TorchException.class, () -> Tensor.scaledDotProductAttention(q, none, none, null, 0, true, null)),
                    "scaled_dot_product_attention", "float32[1, 0, 3, 4]");
        }
    }

    @Test
    void aComputedTensorCannotDropRequiresGrad() {
        try (Scope s = Scope.open()) {
            Tensor leaf = Tensor.ones(2).requiresGrad(true), computed = leaf.mul(2.0);
            assertMessageContains(assertThrows(TorchException.class, () -> computed.requiresGrad(false)), "leaf", "detach");
            assertFalse(leaf.requiresGrad(false).requiresGrad(), "a leaf's flag changes");
        }
    }
}
