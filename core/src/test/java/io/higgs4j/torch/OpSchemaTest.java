package io.higgs4j.torch;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Escape-hatch calls are checked against the schema libtorch registered, before anything runs. */
class OpSchemaTest {

    private static void assertMessageContains(Throwable e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + e.getMessage() + "' lacks '" + p + "'");
    }

    @Test
    void schemasAreParsedAsFunctionSchemaPrintsThem() {
        OpSchema sum = OpSchema.parseSchema(
                "aten::sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor");
        assertEquals(List.of(new OpSchema.Arg("Tensor", "self"), new OpSchema.Arg("int[1]?", "dim"),
                new OpSchema.Arg("bool", "keepdim"), new OpSchema.Arg("ScalarType?", "dtype")), sum.args);
        assertEquals(List.of("Tensor"), sum.returns);
        OpSchema topk = OpSchema.parseSchema(
                "aten::topk(Tensor self, SymInt k, int dim=-1, bool largest=True, bool sorted=True) -> (Tensor values, Tensor indices)");
        assertEquals(5, topk.args.size());
        assertEquals(List.of("Tensor", "Tensor"), topk.returns);
        OpSchema inPlace = OpSchema.parseSchema("aten::add_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)");
        assertEquals(List.of(new OpSchema.Arg("Tensor", "self"), new OpSchema.Arg("Tensor", "other"),
                new OpSchema.Arg("Scalar", "alpha")), inPlace.args);
        assertEquals(List.of("Tensor"), inPlace.returns);
        OpSchema defaults = OpSchema.parseSchema("my::op(Tensor(a!)[] xs, int[2] stride=[1, 1], str pad=\"a,b\") -> ()");
        assertEquals(List.of(new OpSchema.Arg("Tensor[]", "xs"), new OpSchema.Arg("int[2]", "stride"),
                new OpSchema.Arg("str", "pad")), defaults.args);
        assertEquals(List.of(), defaults.returns);
    }

    @Test
    void argumentKindsAreMatchedToSchemaTypes() {
        assertTrue(OpSchema.accepts("Tensor", "Tensor", false));
        assertTrue(OpSchema.accepts("SymInt", "int", false));
        assertTrue(OpSchema.accepts("SymInt[1]", "int[]", false));
        assertTrue(OpSchema.accepts("int[]?", "int[]", true));
        assertTrue(OpSchema.accepts("Layout?", "None", false));
        assertFalse(OpSchema.accepts("int[]?", "int[]", false), "an optional takes a boxed value");
        assertFalse(OpSchema.accepts("int", "int", true), "a plain argument takes no box");
        assertFalse(OpSchema.accepts("Tensor", "None", false));
        assertFalse(OpSchema.accepts("Tensor", "int", false));
        assertFalse(OpSchema.accepts("Tensor?[]", "Tensor[]", false), "a list of optionals is encoded otherwise");
        assertFalse(OpSchema.accepts("float[]", "int[]", false));
        assertFalse(OpSchema.accepts("Scalar", "float", false));
    }

    @Test
    void theSchemaIsReadFromLibtorchsDispatcher() {
        assumeTrue(OpSchema.available(), "needs libtorch's dispatcher symbols");
        // torch's native_functions.yaml declares these schemas
        assertEquals("aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor", OpSchema.of("aten::add", "Tensor").text);
        assertEquals("aten::flip(Tensor self, int[] dims) -> Tensor", OpSchema.of("aten::flip", "").text);
        assertMessageContains(assertThrows(TorchException.class, () -> OpSchema.of("aten::add", "NoSuchOverload")),
                "aten::add.NoSuchOverload", "no such operator");
    }

    @Test
    void callsThatDoNotFitTheSchemaAreRefusedWithTheSchema() {
        assumeTrue(OpSchema.available(), "needs libtorch's dispatcher symbols");
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.ones(2);
            // Used to crash in to_ivalue: the dispatcher read the missing arguments from stale stack slots.
            assertMessageContains(assertThrows(TorchException.class, () -> Aten.callTensor("aten::add", "Tensor", x)),
                    "aten::add.Tensor takes 3 arguments", "got 1",
                    "schema: aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor");
            assertMessageContains(assertThrows(TorchException.class, () -> Aten.callTensor("aten::flip", "", x, x)),
                    "argument 1 (dims) is int[] in the schema, got Tensor float32[2]");
            assertMessageContains(assertThrows(TorchException.class, () -> Aten.callTensor("aten::mul", "Tensor", 2.0, x)),
                    "argument 0 (self) is Tensor in the schema, got float 2.0");
            assertMessageContains(assertThrows(TorchException.class,
                    () -> Aten.callTensor("aten::sum", "dim_IntList", x, new long[] {0}, false, Aten.NONE)),
                    "argument 1 (dim) is int[1]?", "Aten.some");
            assertMessageContains(assertThrows(TorchException.class, () -> Aten.callTensor("aten::add", "Scalar", x, 2.0, 1.0)),
                    "is Scalar in the schema", "Tensor overload");
            assertMessageContains(assertThrows(TorchException.class,
                    () -> Aten.call("aten::neg", "", List.of(Aten.Ret.TENSOR, Aten.Ret.TENSOR), x)), "has 1 result(s), 2 asked for");
            assertMessageContains(assertThrows(TorchException.class, () -> Aten.call("aten::neg", "", List.of(Aten.Ret.INT), x)),
                    "result 0 is Tensor in the schema");
            // Fitting calls run, optionals given either way.
            assertArrayEquals(new float[] {2}, Aten.callTensor("aten::sum", "dim_IntList", x, Aten.some(new long[] {0}), false,
                    Aten.NONE).reshape(1).toFloatArray());
            assertArrayEquals(new float[] {2}, Aten.callTensor("aten::sum", "dim_IntList", x, Aten.NONE, false,
                    Aten.some(DType.FLOAT64)).reshape(1).toFloatArray());
        }
    }

    @Test
    void resultsNotAskedForAreFreed() {
        assumeTrue(OpSchema.available(), "needs libtorch's dispatcher symbols");
        try (Tensor x = Tensor.of(new float[] {3, 1, 2})) {
            long before = Tensor.liveCount();
            Aten.callVoid("aten::sort", "", x, -1L, false); // two tensor results, neither wanted
            List<Object> values = Aten.call("aten::sort", "", List.of(Aten.Ret.TENSOR), x, -1L, false);
            assertArrayEquals(new float[] {1, 2, 3}, ((Tensor) values.getFirst()).toFloatArray());
            ((Tensor) values.getFirst()).close();
            assertEquals(before, Tensor.liveCount());
        }
    }

    @Test
    void anInPlaceShapeChangeReachesEveryHandleToTheTensor() {
        assumeTrue(OpSchema.available(), "needs libtorch's dispatcher symbols");
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(1_000_000);
            Tensor alias = x.share();
            assertEquals(1_000_000, alias.numel()); // cached before the change
            Aten.callVoid("aten::set_", "source_Tensor", x, Tensor.of(new float[] {7f, 8f}));
            // Reading the alias by its old shape would copy 4 MB out of an 8-byte buffer.
            assertArrayEquals(new long[] {2}, alias.shape());
            assertArrayEquals(new float[] {7f, 8f}, alias.toFloatArray());
            Aten.callVoid("aten::unsqueeze_", "", alias, 0L);
            assertArrayEquals(new long[] {1, 2}, x.shape());
        }
    }

    @Test
    void aFailedResizeLeavesTheTensorAsItWas() {
        assumeTrue(OpSchema.available(), "needs libtorch's dispatcher symbols");
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 2, 3, 4}).view(2, 2).transpose(0, 1);
            // 2^40 x 2^20 floats cannot be allocated: libtorch sets the sizes, then fails to allocate (torch segfaults
            // at the next read of such a tensor)
            assertThrows(TorchException.class, () -> Aten.callVoid("aten::resize_", "", x, new long[] {1L << 40, 1L << 20}, Aten.NONE));
            assertArrayEquals(new long[] {2, 2}, x.shape());
            assertArrayEquals(new long[] {1, 2}, x.strides(), "the transposed view's strides, too");
            assertArrayEquals(new float[] {1, 3, 2, 4}, x.toFloatArray());
            assertEquals(10.0, x.sum().item(), 0.0);
        }
    }

    @Test
    void anInPlaceDtypeChangeReachesEveryHandleToo() {
        assumeTrue(OpSchema.available(), "needs libtorch's dispatcher symbols");
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.ones(4), alias = x.share();
            assertEquals(DType.FLOAT32, alias.dtype()); // cached before the change
            Tensor half = Tensor.of(new float[] {1, 2}).to(DType.FLOAT16);
            Aten.callVoid("aten::set_data", "", x, half);
            // read as float32 by its old dtype, the alias's 4 bytes of float16 would be followed by 4 bytes of heap
            assertEquals(DType.FLOAT16, alias.dtype());
            assertArrayEquals(new float[] {1, 2}, alias.toFloatArray());
        }
    }

    @Test
    void aFailedSetPutsTheStorageBackToo() {
        assumeTrue(OpSchema.available(), "needs libtorch's dispatcher symbols");
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 2, 3, 4}), small = Tensor.of(new float[] {7, 8});
            long live = Tensor.liveCount();
            // set_ takes small's storage, then fails to grow it to 2^60 elements
            assertThrows(TorchException.class, () -> Aten.callVoid("aten::set_", "source_Tensor_storage_offset", x, small, 0L,
                    new long[] {1L << 40, 1L << 20}, new long[] {1L << 20, 1}));
            assertArrayEquals(new long[] {4}, x.shape());
            assertArrayEquals(new float[] {1, 2, 3, 4}, x.toFloatArray(), "its own storage again");
            assertArrayEquals(new float[] {7, 8}, small.toFloatArray());
            assertEquals(live, Tensor.liveCount(), "the snapshot taken before the op is freed");
            Aten.callVoid("aten::unsqueeze_", "", x, 0L); // and after an op that succeeds
            assertEquals(live, Tensor.liveCount());
        }
    }

    @Test
    void aSchemaSaysWhetherTheOpWritesIntoAnArgument() {
        assertTrue(OpSchema.parseSchema("aten::set_.source_Tensor(Tensor(a!) self, Tensor source) -> Tensor(a!)").mutatesArguments);
        assertTrue(OpSchema.parseSchema("aten::_foreach_mul_.Tensor(Tensor(a!)[] self, Tensor other) -> ()").mutatesArguments);
        assertFalse(OpSchema.parseSchema("aten::view(Tensor(a) self, SymInt[] size) -> Tensor(a)").mutatesArguments);
        assertFalse(OpSchema.parseSchema("aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor").mutatesArguments);
    }

    @Test
    void anUndefinedTensorResultIsNull() {
        assumeTrue(OpSchema.available(), "needs libtorch's dispatcher symbols");
        try (Scope s = Scope.open()) {
            long before = Tensor.liveCount();
            Tensor q = Tensor.randn(1, 3, 4);
            // need_weights = false: the second result (the attention weights) is left undefined
            List<Object> r = Aten.call("aten::_native_multi_head_attention", "", List.of(Aten.Ret.TENSOR, Aten.Ret.TENSOR),
                    q, q, q, 4L, 2L, Tensor.randn(12, 4), Tensor.randn(12), Tensor.randn(4, 4), Tensor.randn(4),
                    Aten.NONE, false, true, Aten.NONE);
            assertArrayEquals(new long[] {1, 3, 4}, ((Tensor) r.get(0)).shape());
            assertNull(r.get(1));
            assertEquals(before + 6, Tensor.liveCount(), "q, four weights and the one defined result; the undefined one is freed");
        }
    }

    @Test
    void nullsAreRefusedByName() {
        try (Tensor x = Tensor.ones(2)) {
            assertTrue(assertThrows(IllegalArgumentException.class, () -> Aten.callTensor(null, "", x)).getMessage().contains("op name"));
            List<Aten.Ret> withNull = new java.util.ArrayList<>();
            withNull.add(null);
            assertTrue(assertThrows(IllegalArgumentException.class, () -> Aten.call("aten::neg", "", withNull, x))
                    .getMessage().contains("aten::neg"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> Aten.call("aten::neg", "", null, x))
                    .getMessage().contains("aten::neg"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> Aten.call("aten::neg", "", List.of(), (Object[]) null))
                    .getMessage().contains("aten::neg"));
        }
    }
}
