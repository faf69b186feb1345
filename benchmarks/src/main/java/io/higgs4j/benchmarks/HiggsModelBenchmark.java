package io.higgs4j.benchmarks;

import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioLoss;
import io.higgs4j.higgs.HiggsAudioModel;
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
        input = mixedBatch(c, batch, seqLen, new Random(1)); // owned by this benchmark (no scope) until the fork ends
        OneLibTorch.check();
    }

    /** Rows of seqLen + 1 merged positions: seqLen/2 + 1 text tokens (one the placeholder) and a clip of seqLen/2 columns. */
    static HiggsAudioBatch mixedBatch(HiggsAudioConfig c, int b, int seqLen, Random r) {
        int text = seqLen / 2, clip = seqLen - text;
        int k = c.audioNumCodebooks();
        long[] ids = new long[b * (text + 1)], labels = new long[ids.length];
        long[] codes = new long[k * b * clip], audioLabels = new long[codes.length];
        long[] starts = new long[b];
        for (int row = 0; row < b; row++) {
            for (int i = 0; i <= text; i++) {
                long tok = i == text / 2 ? c.audioOutTokenIdx() : r.nextInt(1000);
                ids[row * (text + 1) + i] = tok;
                labels[row * (text + 1) + i] = i == text / 2 ? -100 : tok;
            }
            starts[row] = (long) row * clip;
        }
        for (int i = 0; i < codes.length; i++) {
            codes[i] = r.nextInt(c.audioCodebookSize());
            audioLabels[i] = codes[i];
        }
        return new HiggsAudioBatch(Tensor.of(ids, b, text + 1), Tensor.ones(new long[] {b, text + 1}, DType.INT64, Device.CPU),
                null, null, Tensor.of(codes, k, (long) b * clip), Tensor.of(starts), Tensor.of(labels, b, text + 1),
                Tensor.of(audioLabels, k, (long) b * clip));
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
