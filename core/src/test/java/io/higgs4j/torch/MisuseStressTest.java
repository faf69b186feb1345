package io.higgs4j.torch;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every misuse that used to crash the JVM, at once on several threads for about 40 seconds under a small heap with
 * forced collections: the child JVM must end normally.
 */
class MisuseStressTest {

    @Test
    void allMisusesTogetherNeverCrashTheJvm() throws Exception {
        ChildJvm.Result r = ChildJvm.run(240, List.of("-Xmx64m"), MisuseMain.class, "all", "40");
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("ok all"), r.output());
    }
}
