package io.higgs4j.torch;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** libtorch's own reason for a failed call reaches the exception; its report no longer floods stderr. */
class LibtorchReasonTest {

    private static void assertReason(RuntimeException e, String op, String reason) {
        assertInstanceOf(TorchException.class, e);
        assertTrue(e.getMessage().contains(op), e.getMessage());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        assertFalse(e.getMessage().contains("printed the reason on stderr"), e.getMessage());
        assertFalse(e.getMessage().contains("frame #"), "the backtrace stays out: " + e.getMessage());
    }

    @Test
    void indexErrorsCarryLibtorchsReason() {
        assumeTrue(Native.CAPTURING_REASONS, "libtorch's stderr is captured on glibc only");
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.ones(3, 2);
            // The texts below are libtorch's own TORCH_CHECK messages for these ops.
            assertReason(assertThrows(TorchException.class, () -> x.indexSelect(0, Tensor.of(new long[] {5}))),
                    "aten::index_select", "index out of range in self");
            assertReason(assertThrows(TorchException.class, () -> x.gather(0, Tensor.of(new long[] {5, 0}, 1, 2))),
                    "aten::gather", "index 5 is out of bounds for dimension 0 with size 3");
            assertReason(assertThrows(TorchException.class, () -> Tensor.embedding(Tensor.ones(3, 4), Tensor.of(new long[] {0, 7}))),
                    "aten::embedding", "index out of range in self");
            assertReason(assertThrows(TorchException.class, () -> Tensor.ones(2, 3).crossEntropy(Tensor.of(new long[] {0, 7}), -100)),
                    "aten::cross_entropy_loss", "Target 7 is out of bounds");
            // The typed entries (not the dispatcher) report through the same path.
            Tensor meta = Tensor.empty(new long[] {2}, DType.FLOAT32, Device.META);
            RuntimeException e = assertThrows(TorchException.class, meta::item);
            assertFalse(e.getMessage().contains("printed the reason on stderr"), e.getMessage());
        }
    }

    @Test
    void theReasonIsTheReportsFirstLineCutToItsFirstSentenceWhenLong() {
        assertEquals("index out of range in self", LibtorchStderr.shortReason(
                "index out of range in self\nException raised from operator() at x.cpp:1756 (most recent call first):\nframe #0: ..."));
        String longLine = "Could not run 'aten::empty.memory_format' with arguments from the 'CUDA' backend. This could be because "
                + "x".repeat(300) + "\n\nCPU: registered at ...";
        assertEquals("Could not run 'aten::empty.memory_format' with arguments from the 'CUDA' backend.",
                LibtorchStderr.shortReason(longLine));
        assertEquals("y".repeat(240) + "...", LibtorchStderr.shortReason("y".repeat(500)));
    }

    @Test
    void higgs4jDebugIsOnWhenSetToAnythingButEmptyOrZero() {
        assertTrue(Native.debugRequested("1"));
        assertTrue(Native.debugRequested("yes"));
        assertFalse(Native.debugRequested("0"));
        assertFalse(Native.debugRequested(""));
        assertFalse(Native.debugRequested(null));
    }

    @Test
    void aDeviceArgumentPrintsAsCudaN() {
        assumeTrue(!Torch.cudaAvailable() || Torch.cudaDeviceCount() <= 7, "needs a machine without cuda:7");
        TorchException e = assertThrows(TorchException.class, () -> Aten.callTensor("aten::randn", "", new long[] {2},
                Aten.some(DType.FLOAT32), Aten.NONE, Aten.some(Device.cuda(7)), Aten.NONE));
        assertTrue(e.getMessage().contains("aten::randn failed for ([2], float32, None, cuda:7, None)"), e.getMessage());
    }

    @Test
    void aMissingCudaDeviceIsRefusedInOneLineBeforeLibtorchRuns() {
        int count = Torch.cudaAvailable() ? Torch.cudaDeviceCount() : 0;
        Device missing = Device.cuda(count);
        for (Runnable r : List.<Runnable>of(missing::checkAvailable,
                () -> Tensor.zeros(new long[] {2}, DType.FLOAT32, missing),
                () -> Tensor.randn(new long[] {2}, DType.FLOAT32, missing),
                () -> Tensor.empty(new long[] {2}, DType.FLOAT32, missing),
                () -> Tensor.ones(2).to(missing))) {
            TorchException e = assertThrows(TorchException.class, r::run);
            assertTrue(e.getMessage().startsWith("cuda:" + count + " was asked for"), e.getMessage());
            assertTrue(e.getMessage().contains(count == 0 ? "no CUDA device here" : "has " + count + " CUDA device"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
        assertSame(Device.CPU, Device.CPU.checkAvailable());
    }

    @Test
    void theFirstLineByDefaultTheWholeReportWithHiggs4jDebug() throws Exception {
        ChildJvm.Result plain = ChildJvm.run(120, Map.of("HIGGS4J_DEBUG", "0"), List.of(), MisuseMain.class, "reason", "0");
        assertEquals(0, plain.exitCode(), plain.output());
        assumeTrue(!plain.output().contains("printed the reason on stderr"), "libtorch's stderr is captured on glibc only");
        assertTrue(plain.output().contains("message: aten::index_select failed for (float32[3, 2], 0, int64[1]): index out of range in self"),
                plain.output());
        // libtorch's report (tens of lines with its backtrace) is no longer printed
        assertFalse(plain.output().contains("Exception in aoti_torch"), plain.output());
        assertFalse(plain.output().contains("frame #"), plain.output());

        ChildJvm.Result debug = ChildJvm.run(120, Map.of("HIGGS4J_DEBUG", "1"), List.of(), MisuseMain.class, "reason", "0");
        assertEquals(0, debug.exitCode(), debug.output());
        assertTrue(debug.output().contains("index out of range in self"), debug.output());
        assertTrue(debug.output().contains("Exception raised from"), "the report with its backtrace: " + debug.output());
    }
}
