package io.higgs4j.bench;

import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioLoss;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.higgs.SyntheticBatch;
import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.optim.AdamW;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * For the GPU machine (run by scripts/gpu-check.sh with `bench`): the bf16 matmul ceiling, then LoRA training steps
 * (forward, loss, backward, fused AdamW) of a Higgs config in bf16 on cuda:0, with tokens/s and MFU against that
 * ceiling. Args: config (small | path to config.json), batch, seqLen, steps.
 */
public final class GpuStepTimer {
    public static void main(String[] args) throws Exception {
        Device cuda = Device.cuda(0);
        String which = args.length > 0 ? args[0] : "small";
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 4, seq = args.length > 2 ? Integer.parseInt(args[2]) : 1024;
        int steps = args.length > 3 ? Integer.parseInt(args[3]) : 10;
        double ceiling = matmulTflops(cuda);
        System.out.printf("bf16 matmul 8192^3: %.0f TFLOP/s%n", ceiling);
        HiggsAudioConfig c = which.equals("small") ? HiggsAudioConfig.preset("small") : HiggsAudioConfig.fromFile(Path.of(which));
        Torch.manualSeed(0);
        long t0 = System.nanoTime();
        try (HiggsAudioModel model = new HiggsAudioModel(c, new Init(DType.BFLOAT16, cuda, 0.02));
             LoraModel lora = LoraModel.apply(model, LoraConfig.of(16, 32, 0.0, "comprehensive", List.of()), new Init(DType.FLOAT32, cuda, 0.02));
             AdamW opt = new AdamW(List.copyOf(lora.trainableParameters().values()), AdamW.Options.defaults(1e-4))) {
            Torch.cudaSynchronize(0);
            System.out.printf("%s: %,d parameters built on cuda:0 in %.1f s%n", which, model.parameterCount(), (System.nanoTime() - t0) / 1e9);
            HiggsAudioBatch b = SyntheticBatch.mixed(c, batch, seq, new Random(1));
            double total = 0;
            for (int i = 0; i < steps + 5; i++) {
                long s0 = System.nanoTime();
                try (Scope s = Scope.open()) {
                    HiggsAudioBatch onDevice = b.to(cuda);
                    // the trainer's pass: heads only where there are labels, the loss in chunks
                    io.higgs4j.higgs.TrainingPass.run(model, onDevice, 8, io.higgs4j.higgs.TrainingPass.Options.defaults());
                    opt.step();
                    opt.zeroGrad();
                }
                Torch.cudaSynchronize(0);
                double sec = (System.nanoTime() - s0) / 1e9;
                if (i >= 5) total += sec; // five warm-up steps, as the peer
            }
            double step = total / steps, tokens = (double) batch * seq;
            long h = c.textConfig().hiddenSize(), kv = (long) c.textConfig().numKeyValueHeads() * c.textConfig().headDim();
            long perToken = c.textConfig().numHiddenLayers() * (2 * h * h + 2 * h * kv + 3 * h * c.textConfig().intermediateSize())
                    + h * c.textConfig().vocabSize() + h * c.audioVocabSize() / 2;
            double flops = 6.0 * perToken * tokens + 12.0 * batch * seq * (double) seq * h * c.textConfig().numHiddenLayers();
            System.out.printf("%s LoRA step, batch %d x %d tokens, bf16: %.1f ms, %.0f tokens/s, MFU %.2f%n",
                    which, batch, seq, step * 1e3, tokens / step, flops / step / (ceiling * 1e12));
        }
    }

    static double matmulTflops(Device cuda) {
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            Tensor a = Tensor.randn(new long[] {8192, 8192}, DType.BFLOAT16, cuda), b = Tensor.randn(new long[] {8192, 8192}, DType.BFLOAT16, cuda);
            for (int i = 0; i < 3; i++) a.matmul(b).close();
            Torch.cudaSynchronize(0);
            long t0 = System.nanoTime();
            for (int i = 0; i < 10; i++) a.matmul(b).close();
            Torch.cudaSynchronize(0);
            return 10 * 2.0 * Math.pow(8192, 3) / ((System.nanoTime() - t0) / 1e9) / 1e12;
        }
    }
}
