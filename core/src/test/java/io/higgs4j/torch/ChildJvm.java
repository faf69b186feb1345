package io.higgs4j.torch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a main class of the test classpath in a child JVM, so that a crash fails a test instead of the test run. */
final class ChildJvm {

    record Result(int exitCode, String output) {}

    private ChildJvm() {}

    /** Runs main with args under the JVM options given; kills it after timeoutSeconds (a hang is a failure too). */
    static Result run(long timeoutSeconds, List<String> jvmOptions, Class<?> main, String... args)
            throws IOException, InterruptedException {
        return run(timeoutSeconds, Map.of(), jvmOptions, main, args);
    }

    /** The same with extra environment variables. */
    static Result run(long timeoutSeconds, Map<String, String> env, List<String> jvmOptions, Class<?> main, String... args)
            throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("higgs4j-child");
        Path log = dir.resolve("output.txt");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-XX:ErrorFile=" + dir.resolve("hs_err_pid%p.log")); // a crash report, kept out of the working tree
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            return new Result(-1, "timed out after " + timeoutSeconds + " s\n" + Files.readString(log));
        }
        String out = Files.readString(log);
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                if (f.getFileName().toString().startsWith("hs_err")) out += "\n" + f + ":\n" + Files.readString(f).lines().limit(40).reduce("", (a, b) -> a + b + "\n");
            }
        }
        return new Result(p.exitValue(), out);
    }
}
