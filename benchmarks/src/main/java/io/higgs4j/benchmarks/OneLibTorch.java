package io.higgs4j.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

/**
 * Guards the rule that a benchmark JVM holds one copy of libtorch: higgs4j's (extracted under ~/.cache/higgs4j) or
 * JavaCPP's (under ~/.javacpp/cache), never both. Two copies in one process would share nothing (two dispatchers,
 * two allocators, two sets of globals), and that is not what either benchmark means to measure. This happens only
 * when JMH runs benchmarks of both kinds in one JVM ({@code -f 0}); the check makes that fail loudly.
 * Uses no class of either binding.
 */
final class OneLibTorch {

    private OneLibTorch() {}

    /** Throws unless exactly one libtorch_cpu.so is mapped into this process (Linux); returns its path. */
    static String check() {
        Set<String> copies = new TreeSet<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int slash = line.indexOf('/');
                if (slash >= 0 && line.endsWith("/libtorch_cpu.so")) copies.add(line.substring(slash));
            }
        } catch (IOException e) {
            return "unknown (" + e + ")";
        }
        if (copies.size() != 1) {
            throw new IllegalStateException("expected one libtorch_cpu.so in this JVM, found " + copies
                    + ": run each benchmark in its own fork (do not use -f 0 across higgs4j and JavaCPP benchmarks)");
        }
        return copies.iterator().next();
    }
}
