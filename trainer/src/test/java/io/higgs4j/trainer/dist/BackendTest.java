package io.higgs4j.trainer.dist;

import io.higgs4j.torch.Device;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class BackendTest {

    @Test
    void parsesTheTwoBackendsInAnyCaseAndNamesThemAsTheOptionDoes() {
        assertSame(Backend.CPU, Backend.parse("cpu"));
        assertSame(Backend.NCCL, Backend.parse("NCCL"));
        assertEquals("nccl", Backend.NCCL.toString());
        var e = assertThrows(IllegalArgumentException.class, () -> Backend.parse("gloo"));
        assertEquals("--backend must be cpu or nccl, got gloo", e.getMessage());
    }

    @Test
    void ncclIsTheDefaultOnCudaAndNeedsIt() {
        assertSame(Backend.NCCL, Backend.defaultFor(Device.cuda(1)));
        assertSame(Backend.CPU, Backend.defaultFor(Device.CPU));
        Backend.CPU.checkDevice(Device.CPU);
        Backend.NCCL.checkDevice(Device.cuda(0)); // the type only: no CUDA is needed to check it
        var e = assertThrows(IllegalArgumentException.class, () -> Backend.NCCL.checkDevice(Device.CPU));
        assertEquals("--backend nccl needs a CUDA device, got cpu; use --backend cpu", e.getMessage());
    }

    @Test
    void processGroupsRefuseABadBackendWithTheSameMessage() {
        Map<String, String> twoRanks = Map.of("LOCAL_RANK", "0", "RANK", "0", "WORLD_SIZE", "2", "MASTER_PORT", "1");
        var e = assertThrows(IllegalArgumentException.class, () -> ProcessGroups.fromEnvironment(twoRanks, "mpi", Device.CPU));
        assertEquals("--backend must be cpu or nccl, got mpi", e.getMessage());
    }
}
