package io.higgs4j.trainer.train;

import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioLoss;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.higgs.SyntheticBatch;
import io.higgs4j.higgs.TrainingPass;
import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.optim.AdamW;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Torch;

import java.util.List;
import java.util.Random;

/**
 * Run in a child JVM by MemoryPlanTest: the trainer's LoRA step (TrainingPass, AdamW) of a preset in float32 on CPU,
 * three steps; prints the peak resident set over the resident set before the model was built (libtorch loaded).
 * Args: preset batch seqLen checkpointing(true|false).
 */
public final class MemoryProbe {
    public static void main(String[] args) {
        HiggsAudioConfig config = HiggsAudioConfig.preset(args[0]);
        int batch = Integer.parseInt(args[1]), seq = Integer.parseInt(args[2]);
        boolean checkpointing = Boolean.parseBoolean(args[3]);
        Torch.info();
        long start = Memory.status("VmRSS:");
        Torch.manualSeed(0);
        try (HiggsAudioModel model = new HiggsAudioModel(config, new Init(DType.FLOAT32, Device.CPU, 0.02));
             LoraModel lora = LoraModel.apply(model, MemoryPlanTest.LORA, new Init(DType.FLOAT32, Device.CPU, 0.02));
             AdamW opt = new AdamW(List.copyOf(lora.trainableParameters().values()), AdamW.Options.defaults(1e-4))) {
            model.train(true);
            HiggsAudioBatch input = SyntheticBatch.mixed(config, batch, seq, new Random(1));
            for (int i = 0; i < 3; i++) {
                try (Scope s = Scope.open()) {
                    TrainingPass.run(model, input, 8, new TrainingPass.Options(HiggsAudioLoss.Options.defaults(), checkpointing, 1.0));
                    opt.step();
                    opt.zeroGrad();
                }
            }
        }
        System.out.println("peak_bytes " + (Memory.status("VmHWM:") - start));
    }
}
