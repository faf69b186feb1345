package io.higgs4j.trainer;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;

class DoctorCommandTest {

    @Test
    void reportsTheRuntimeAndPassesItsSelfCheck() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int rc = DoctorCommand.run(new PrintStream(buf, true, StandardCharsets.UTF_8));
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, rc, out);
        assertTrue(out.matches("(?s).*libtorch version: 2\\.\\d+\\.\\d+.*"), out);
        assertTrue(out.contains("ABI version: 0x02"), out);
        assertTrue(out.contains("loaded from: "), out);
        assertTrue(out.contains("threads: "), out);
        assertTrue(out.contains("CUDA available: "), out);
        assertTrue(out.contains("autograd self-check on cpu: OK"), out);
        assertTrue(out.trim().endsWith("doctor: OK"), out);
    }

    @Test
    void unknownCommandsFailWithUsage() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        CommandLine cl = new CommandLine(new Main()).setErr(new java.io.PrintWriter(err, true, StandardCharsets.UTF_8));
        assertNotEquals(0, cl.execute("no-such-command"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("no-such-command"));
    }
}
