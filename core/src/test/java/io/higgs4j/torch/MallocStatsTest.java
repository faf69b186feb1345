package io.higgs4j.torch;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class MallocStatsTest {

    @Test
    void aCpuTensorOf256MiBShowsInTheCHeapAndLeavesItWhenClosed() {
        assumeTrue(Torch.mallocStats() != null, "glibc's mallinfo2 is missing here");
        long size = 256L << 20;
        Torch.MallocStats before = Torch.mallocStats();
        Tensor t = Tensor.zeros(new long[] {size / 4}, DType.FLOAT32, Device.CPU);
        Torch.MallocStats during = Torch.mallocStats();
        t.close();
        Torch.MallocStats after = Torch.mallocStats();
        assertNotNull(during);
        // mmapped or in an arena (bin/malloc-env.sh raises the mmap threshold), it is handed out and held from the system
        // Other tests' tensors may be freed (or made) meanwhile by the Cleaner in this JVM: a few MiB either way
        long slack = size / 8;
        assertTrue(during.inUse() - before.inUse() >= size - slack, before + " -> " + during);
        assertTrue(during.held() >= during.inUse(), during.toString());
        assertTrue(during.inUse() - after.inUse() >= size - slack, during + " -> " + after);
    }
}
