package io.higgs4j.torch;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class MallocStatsTest {

    @Test
    void aCpuTensorOf64MiBShowsInTheCHeapAndLeavesItWhenClosed() {
        assumeTrue(Torch.mallocStats() != null, "glibc's mallinfo2 is missing here");
        long size = 64L << 20;
        Torch.MallocStats before = Torch.mallocStats();
        Tensor t = Tensor.zeros(new long[] {size / 4}, DType.FLOAT32, Device.CPU);
        Torch.MallocStats during = Torch.mallocStats();
        t.close();
        Torch.MallocStats after = Torch.mallocStats();
        assertNotNull(during);
        // mmapped or in an arena (bin/malloc-env.sh raises the mmap threshold), it is handed out and held from the system
        long slack = 1L << 20; // other small allocations and frees in between
        assertTrue(during.inUse() - before.inUse() >= size - slack, before + " -> " + during);
        assertTrue(during.held() >= during.inUse(), during.toString());
        assertTrue(during.inUse() - after.inUse() >= size - slack, during + " -> " + after);
    }
}
