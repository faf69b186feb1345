package io.higgs4j.benchmarks;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.nn.Init;
import io.higgs4j.safetensors.SafetensorsFile;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

/**
 * Safetensors loading throughput: every tensor of the {@code small} model's float32 checkpoint (about 140 MB) read into
 * libtorch tensors, against a plain sequential read of the same file into one reused direct buffer. The file is in the
 * page cache after the first read, so both measure memory-speed IO; GB/s = file size / time per op.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@org.openjdk.jmh.annotations.State(org.openjdk.jmh.annotations.Scope.Benchmark)
public class SafetensorsLoadBenchmark {

    private Path dir, file;
    private ByteBuffer buffer;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("higgs4j-st-bench");
        file = dir.resolve("model.safetensors");
        try (HiggsAudioModel m = new HiggsAudioModel(HiggsAudioConfig.preset("small"), Init.cpu(DType.FLOAT32))) {
            SafetensorsWriter.write(file, m.namedParameters());
        }
        buffer = ByteBuffer.allocateDirect(1 << 24);
        System.out.printf("%nfile: %d bytes%n", Files.size(file));
        OneLibTorch.check();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        Files.deleteIfExists(file);
        Files.deleteIfExists(dir);
    }

    @Benchmark
    public void loadAllTensors(Blackhole bh) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String name : f.names()) {
                try (Tensor t = f.load(name)) {
                    bh.consume(t);
                }
            }
        }
    }

    @Benchmark
    public long sequentialRead() throws IOException {
        long total = 0;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            int n;
            while ((n = ch.read(buffer.clear())) > 0) total += n;
        }
        return total;
    }
}
