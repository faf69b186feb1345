package io.higgs4j.benchmarks;

import org.openjdk.jmh.annotations.Fork;

/**
 * {@link JavaCppTinyOpBenchmark} with JavaCPP's resident-memory check turned off
 * ({@code -Dorg.bytedeco.javacpp.maxPhysicalBytes=0}). By default JavaCPP reads {@code /proc/self/statm} (one
 * {@code pread64}) every time it registers a deallocator, i.e. for every result tensor; that check, not JNI or
 * libtorch, is most of JavaCPP's time on a tiny op. This variant shows what JavaCPP costs without it.
 */
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0"})
public class JavaCppTinyOpNoRssCheckBenchmark extends JavaCppTinyOpBenchmark {
}
