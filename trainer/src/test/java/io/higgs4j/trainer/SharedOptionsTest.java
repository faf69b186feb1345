package io.higgs4j.trainer;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** --device and --dtype, read one way by every command that takes them. */
class SharedOptionsTest {

    @Test
    void dtypeIsBf16OrFp32AndNothingElse() {
        assertEquals(DType.BFLOAT16, SharedOptions.dtype("bf16"));
        assertEquals(DType.FLOAT32, SharedOptions.dtype("fp32"));
        var e = assertThrows(IllegalArgumentException.class, () -> SharedOptions.dtype("fp16"));
        assertTrue(e.getMessage().contains("--dtype") && e.getMessage().contains("fp16"), e.getMessage());
    }

    @Test
    void aDeviceThatDoesNotParseIsRefusedThroughTheCommandsOwnError() {
        SharedOptions.checkDevice(null, IllegalStateException::new); // no value: the command's default
        SharedOptions.checkDevice("cpu", IllegalStateException::new);
        var e = assertThrows(IllegalStateException.class, () -> SharedOptions.checkDevice("gpu:x", IllegalStateException::new));
        assertTrue(e.getMessage().startsWith("--device: "), e.getMessage());
    }

    @Test
    void theDeviceNamedIsTheDeviceUsed() {
        assertEquals(Device.CPU, SharedOptions.device("cpu", 0));
    }
}
