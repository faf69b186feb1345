package io.higgs4j.benchmarks;

import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioLoss;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.higgs.SyntheticBatch;
import io.higgs4j.nn.Init;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Forward + backward of a Higgs Audio config (default {@code small}) in float32 on CPU: one step of full fine-tuning's
 * compute, loss included, without the optimizer. Each row is half text, half one audio-out clip, so both FFN paths
 * and both heads run. tokens/s = batch * seqLen / (time per op).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@org.openjdk.jmh.annotations.State(org.openjdk.jmh.annotations.Scope.Thread)
public class HiggsModelBenchmark {

    @Param({"small"})
    public String config;

    @Param({"256", "1024"})
    public int seqLen;

    @Param({"1", "4"})
    public int batch;

    private HiggsAudioModel model;
    private HiggsAudioBatch input;

    @Setup(Level.Trial)
    public void setUp() {
        Torch.manualSeed(0);
        HiggsAudioConfig c = HiggsAudioConfig.preset(config);
        model = new HiggsAudioModel(c, new Init(DType.FLOAT32, Device.CPU, 0.02));
        model.requiresGrad(true);
        input = SyntheticBatch.mixed(c, batch, seqLen, new Random(1)); // owned by this benchmark (no scope) until the fork ends
        OneLibTorch.check();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
    }

    @Benchmark
    public double forwardBackward() {
        try (Scope s = Scope.open()) {
            HiggsAudioModel.Output out = model.forward(input, 8);
            Tensor loss = HiggsAudioLoss.compute(out.logits(), out.expandedLabels(), out.audioLogits(), input.labelAudioIds(),
                    HiggsAudioLoss.Options.defaults()).total();
            loss.backward();
            for (Tensor p : model.parameters()) p.resetGrad();
            return loss.item();
        }
    }
}
