package io.higgs4j.trainer;

import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static io.higgs4j.trainer.Cli.run;
import static org.junit.jupiter.api.Assertions.*;

/** A --device this machine lacks is refused in one line, before libtorch is asked to run anything on it. */
class DeviceOptionTest {

    @Test
    void trainOnAMissingCudaDeviceSaysSoInOneLine(@TempDir Path out) {
        int count = Torch.cudaAvailable() ? Torch.cudaDeviceCount() : 0;
        String missing = "cuda:" + count; // cuda:0 on a CPU-only machine; one past the last GPU elsewhere
        Cli.Run r = run("train", "--demo", "--output_dir", out.toString(), "--device", missing);
        assertEquals(1, r.rc(), r.err());
        String err = r.err().strip();
        assertTrue(err.startsWith("higgs4j train: " + missing + " was asked for, but "), err);
        assertFalse(err.contains("\n"), "one line: " + err);
        assertFalse(err.contains("Exception in aoti_torch"), err);
    }
}
