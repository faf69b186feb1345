package io.higgs4j.torch;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The committed Ops.java is the generator's output for the committed schemas, and those are libtorch's. */
class OpsGeneratedTest {

    /** Maven runs the tests in core/; the generator and its input live in native/ops at the repository root. */
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Path SCHEMAS = ROOT.resolve("native/ops/aten-ops.txt");

    @Test
    void committedOpsIsWhatTheGeneratorWrites() throws Exception {
        Path generated = Files.createTempFile("Ops", ".java");
        try {
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    ROOT.resolve("native/ops/GenerateOps.java").toString(), SCHEMAS.toString(), generated.toString())
                    .redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "generator timed out");
            assertEquals(0, p.exitValue(), "generator failed: " + output);
            String committed = Files.readString(ROOT.resolve("core/src/main/java/io/higgs4j/torch/Ops.java"));
            assertEquals(Files.readString(generated), committed,
                    "Ops.java is stale: run java native/ops/GenerateOps.java native/ops/aten-ops.txt"
                            + " core/src/main/java/io/higgs4j/torch/Ops.java (or native/regenerate-bindings.sh)");
        } finally {
            Files.deleteIfExists(generated);
        }
    }

    @Test
    void aScalarArgumentStopsTheGenerator() throws Exception {
        String output = generatorRefuses("mul.Scalar(Tensor self, Scalar other) -> Tensor\n");
        assertTrue(output.contains("mul.Scalar") && output.contains("Tensor overload"), output);
    }

    /** A str argument would leak 48 bytes a call in libtorch 2.10's dispatcher (pytorch/pytorch#191340). */
    @Test
    void aStrArgumentStopsTheGenerator() throws Exception {
        String output = generatorRefuses("gelu(Tensor self, *, str approximate='none') -> Tensor\n");
        assertTrue(output.contains("gelu") && output.contains("191340"), output);
        output = generatorRefuses("fft_rfft(Tensor self, SymInt? n=None, int dim=-1, str? norm=None) -> Tensor\n");
        assertTrue(output.contains("fft_rfft") && output.contains("norm"), output);
    }

    /** Runs the generator on one schema line, expects it to fail, and returns what it printed. */
    private static String generatorRefuses(String schemaLine) throws Exception {
        Path schemas = Files.createTempFile("aten-ops", ".txt"), out = Files.createTempFile("Ops", ".java");
        try {
            Files.writeString(schemas, schemaLine);
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    ROOT.resolve("native/ops/GenerateOps.java").toString(), schemas.toString(), out.toString())
                    .redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "generator timed out");
            assertNotEquals(0, p.exitValue(), schemaLine + " was generated: " + Files.readString(out));
            return output;
        } finally {
            Files.deleteIfExists(schemas);
            Files.deleteIfExists(out);
        }
    }

    /** Library code names no op by a string: ops go through Tensor and Ops, Aten is for users only. */
    @Test
    void libraryCodeCallsOpsOnlyThroughOps() throws IOException {
        List<String> offenders = new ArrayList<>();
        for (String module : List.of("core", "trainer")) {
            Path src = ROOT.resolve(module).resolve("src/main/java");
            if (!Files.isDirectory(src)) continue;
            try (Stream<Path> files = Files.walk(src)) {
                for (Path f : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                    String name = f.getFileName().toString();
                    if (name.equals("Ops.java") || name.equals("Aten.java")) continue;
                    String text = Files.readString(f);
                    if (text.contains("Aten.call") || text.contains("Call.begin(")) offenders.add(ROOT.relativize(f).toString());
                }
            }
        }
        assertEquals(List.of(), offenders, "call ATen through a Tensor method (add the op to native/ops/aten-ops.txt)");
    }

    @Test
    void committedSchemasAreTheOnesLibtorchRegistered() throws Exception {
        assumeTrue(OpSchema.available(), "needs libtorch's dispatcher symbols");
        List<String> lines = Files.readAllLines(SCHEMAS).stream()
                .filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        assertTrue(lines.size() > 50, "expected the schema list, got " + lines.size() + " lines");
        for (String line : lines) {
            OpSchema committed = OpSchema.parseSchema("aten::" + line);
            String name = line.substring(0, line.indexOf('('));
            int dot = name.indexOf('.');
            OpSchema loaded = OpSchema.of("aten::" + (dot < 0 ? name : name.substring(0, dot)), dot < 0 ? "" : name.substring(dot + 1));
            assertEquals(loaded.args, committed.args, line + " vs libtorch's " + loaded.text);
            assertEquals(loaded.returns, committed.returns, line + " vs libtorch's " + loaded.text);
        }
    }
}
