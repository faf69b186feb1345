package io.higgs4j.nccl;

import io.higgs4j.bindings.NcclLoader;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.NativeSources;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The parts of NcclCommunicator that need neither NCCL nor a GPU (header, dtype mapping, refusals), and, where a CUDA
 * libtorch and NCCL are present, a one-rank communicator doing every collective.
 */
class NcclCommunicatorTest {

    /** The header compiles as C11 and its enum values are the codes this class sends. */
    @Test
    void headerCompilesAndItsValuesMatchTheJavaSide(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/gcc")), "gcc is not installed");
        Path repo = NativeSources.repo();
        assumeTrue(repo != null, "the native/ sources are not here");
        String include = repo.resolve("native/include").toString();
        NativeSources.run(tmp, List.of("/usr/bin/gcc", "-std=c11", "-Wall", "-Werror", "-fsyntax-only", "-x", "c",
                repo.resolve("native/include/higgs4j_nccl.h").toString()));
        NativeSources.run(tmp, List.of("/usr/bin/gcc", "-std=c11", "-Wall", "-Werror", "-fsyntax-only", "-x", "c",
                repo.resolve("native/include/higgs4j_torch.h").toString()));
        NativeSources.run(tmp, List.of("/usr/bin/gcc", "-std=c11", "-Wall", "-Werror", "-I", include,
                repo.resolve("native/smoke/nccl_header_check.c").toString(), "-o", "check"));
        Map<String, Integer> c = new HashMap<>();
        for (String token : NativeSources.run(tmp, List.of(tmp.resolve("check").toString())).split("\\s+")) {
            if (token.contains("=")) c.put(token.substring(0, token.indexOf('=')), Integer.parseInt(token.substring(token.indexOf('=') + 1)));
        }
        assertEquals(c.get("ncclFloat32"), NcclCommunicator.ncclDataType("t", DType.FLOAT32));
        assertEquals(c.get("ncclFloat64"), NcclCommunicator.ncclDataType("t", DType.FLOAT64));
        assertEquals(c.get("ncclBfloat16"), NcclCommunicator.ncclDataType("t", DType.BFLOAT16));
        assertEquals(c.get("ncclFloat16"), NcclCommunicator.ncclDataType("t", DType.FLOAT16));
        assertEquals(c.get("ncclInt64"), NcclCommunicator.ncclDataType("t", DType.INT64));
        assertEquals(c.get("ncclInt32"), NcclCommunicator.ncclDataType("t", DType.INT32));
        assertEquals(c.get("ncclInt8"), NcclCommunicator.ncclDataType("t", DType.INT8));
        assertEquals(c.get("ncclUint8"), NcclCommunicator.ncclDataType("t", DType.UINT8));
        for (NcclCommunicator.ReduceOp op : NcclCommunicator.ReduceOp.values()) {
            String name = "ncclSum ncclProd ncclMax ncclMin ncclAvg".split(" ")[op.ordinal()];
            assertEquals(c.get(name), NcclCommunicator.reduceCode(DType.FLOAT32, op), name);
        }
        for (String r : List.of("ncclSuccess", "ncclUnhandledCudaError", "ncclSystemError", "ncclInternalError",
                "ncclInvalidArgument", "ncclInvalidUsage", "ncclRemoteError", "ncclInProgress", "ncclTimeout")) {
            assertEquals(r, NcclCommunicator.resultName(c.get(r)));
        }
    }

    @Test
    void dtypesWithoutAnNcclTypeAreRefused() {
        assertEquals(1, NcclCommunicator.ncclDataType("t", DType.BOOL), "bool travels as uint8");
        for (DType d : List.of(DType.INT16, DType.COMPLEX64)) {
            var e = assertThrows(IllegalArgumentException.class, () -> NcclCommunicator.ncclDataType("allReduce", d));
            assertTrue(e.getMessage().contains("allReduce") && e.getMessage().contains(d.toString()), e.getMessage());
        }
        assertEquals(NcclCommunicator.ReduceOp.MAX.code, NcclCommunicator.reduceCode(DType.BOOL, NcclCommunicator.ReduceOp.SUM));
        assertEquals(NcclCommunicator.ReduceOp.MIN.code, NcclCommunicator.reduceCode(DType.BOOL, NcclCommunicator.ReduceOp.PROD));
        assertThrows(IllegalArgumentException.class, () -> NcclCommunicator.reduceCode(DType.BOOL, NcclCommunicator.ReduceOp.AVG));
        assertEquals("ncclResult_t 42", NcclCommunicator.resultName(42));
    }

    @Test
    void cpuAndClosedTensorsAreRefusedWithAClearMessage() {
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.ones(2, 3);
            var e = assertThrows(IllegalArgumentException.class, () -> NcclCommunicator.checkTensor("allReduce", t, 0));
            assertTrue(e.getMessage().contains("allReduce needs a contiguous CUDA tensor on cuda:0"), e.getMessage());
            assertTrue(e.getMessage().contains("on cpu"), e.getMessage());
            Tensor closed = Tensor.ones(2);
            closed.close();
            assertThrows(IllegalStateException.class, () -> NcclCommunicator.checkTensor("broadcast", closed, 0));
        }
    }

    @Test
    void badArgumentsAreRefusedBeforeNcclIsAsked() {
        assertThrows(IllegalArgumentException.class, () -> NcclCommunicator.create(new byte[5], 1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> NcclCommunicator.create(new byte[128], 2, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> NcclCommunicator.create(new byte[128], 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> NcclCommunicator.create(new byte[128], 1, 0, -1));
    }

    @Test
    void withoutNcclTheErrorSaysWhereItLooked() {
        assumeTrue(!NcclLoader.isAvailable(), "NCCL is installed here");
        var e = assertThrows(NcclLoader.NcclNotFoundException.class, NcclCommunicator::uniqueId);
        assertTrue(e.getMessage().contains("libnccl.so.2") && e.getMessage().contains("Searched"), e.getMessage());
    }

    // ---- With NCCL and a GPU ----

    private static void assumeNcclAndCuda() {
        assumeTrue(Torch.cudaAvailable(), "CUDA is not available");
        assumeTrue(NcclLoader.isAvailable(), "NCCL (libnccl.so.2) is not available");
    }

    @Test
    void oneRankCollectives() {
        assumeNcclAndCuda();
        Device cuda = Device.cuda(0);
        try (Scope s = Scope.open(); NcclCommunicator comm = NcclCommunicator.create(NcclCommunicator.uniqueId(), 1, 0, 0)) {
            assertEquals(1, comm.worldSize());
            Tensor t = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2).to(cuda);
            Tensor doubled = t.mul(2.0); // queued on the current stream before the all-reduce reads it
            comm.allReduce(doubled, NcclCommunicator.ReduceOp.SUM);
            assertArrayEquals(new float[] {2, 4, 6, 8}, doubled.toFloatArray());
            comm.allReduce(doubled, NcclCommunicator.ReduceOp.AVG);
            assertArrayEquals(new float[] {2, 4, 6, 8}, doubled.toFloatArray());
            Tensor b = Tensor.ones(new long[] {3}, DType.BFLOAT16, cuda);
            comm.allReduce(b, NcclCommunicator.ReduceOp.MAX);
            assertArrayEquals(new float[] {1, 1, 1}, b.to(DType.FLOAT32).toFloatArray());
            comm.broadcast(t, 0);
            assertArrayEquals(new float[] {1, 2, 3, 4}, t.toFloatArray());
            Tensor out = Tensor.zeros(new long[] {1, 2, 2}, DType.FLOAT32, cuda);
            comm.groupStart();
            comm.allGather(t, out);
            comm.groupEnd();
            assertArrayEquals(new float[] {1, 2, 3, 4}, out.toFloatArray());
            comm.checkAsyncError();

            var e = assertThrows(IllegalArgumentException.class, () -> comm.allReduce(t.transpose(0, 1), NcclCommunicator.ReduceOp.SUM));
            assertTrue(e.getMessage().contains("contiguous"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> comm.allReduce(Tensor.ones(2), NcclCommunicator.ReduceOp.SUM));
            assertThrows(IllegalArgumentException.class, () -> comm.allGather(t, Tensor.zeros(new long[] {3}, DType.FLOAT32, cuda)));
            comm.close();
            comm.close();
            assertThrows(IllegalStateException.class, () -> comm.allReduce(t, NcclCommunicator.ReduceOp.SUM));
        }
    }

    @Test
    void abortEndsTheCommunicator() {
        assumeNcclAndCuda();
        NcclCommunicator comm = NcclCommunicator.create(NcclCommunicator.uniqueId(), 1, 0, 0);
        comm.abort();
        assertTrue(comm.isClosed());
        comm.close();
        assertThrows(IllegalStateException.class, comm::checkAsyncError);
    }
}
