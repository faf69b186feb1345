package io.higgs4j.benchmarks;

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
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * One training step of a Higgs config, the step that scripts/parity/torch_step_peer.py times in PyTorch: {@code LORA}
 * is forward, loss, backward and fused AdamW over rank-16 LoRA adapters on every attention and MLP projection (base
 * frozen); {@code FWDBWD} is forward, loss and backward with every parameter trainable and no optimizer
 * (HiggsModelBenchmark's step). float32 on CPU for the CPU benchmarks, a bf16 base on CUDA for GpuStepTimer. The batch
 * is SyntheticBatch.mixed, built on the CPU by {@link #use} and handed over there each step, as the trainer does (the
 * model sends what it computes with to its device).
 */
final class StepRig implements AutoCloseable {

    enum Mode { LORA, FWDBWD }

    final HiggsAudioConfig config;
    final Mode mode;
    private final HiggsAudioModel model;
    private final LoraModel lora;
    private final AdamW optimizer;
    private HiggsAudioBatch input;
    /** How a step runs: the trainer's pass (LEAN), with --gradient_checkpointing, or the plain way (full logits). */
    enum Pass { LEAN, CHECKPOINTED, PLAIN }
    Pass pass = Pass.LEAN;

    /** A preset in float32 on CPU, with a batch x seqLen batch. */
    StepRig(String configName, Mode mode, int batch, int seqLen) {
        this(configName, mode, batch, seqLen, Labels.MIXED);
    }

    /** The same with the given labels. */
    StepRig(String configName, Mode mode, int batch, int seqLen, Labels labels) {
        this(HiggsAudioConfig.preset(configName), mode, DType.FLOAT32, Device.CPU);
        use(batch, seqLen, labels);
    }

    /** config's model with its base in baseDtype on device (adapters in float32); give it a batch with {@link #use}. */
    StepRig(HiggsAudioConfig config, Mode mode, DType baseDtype, Device device) {
        this.config = config;
        this.mode = mode;
        Torch.manualSeed(0);
        model = new HiggsAudioModel(config, new Init(baseDtype, device, 0.02));
        if (mode == Mode.LORA) {
            lora = LoraModel.apply(model, LoraConfig.of(16, 32, 0.0, "comprehensive", List.of()), new Init(DType.FLOAT32, device, 0.02));
            optimizer = new AdamW(List.copyOf(lora.trainableParameters().values()), AdamW.Options.defaults(1e-4));
        } else {
            model.requiresGrad(true);
            lora = null;
            optimizer = null;
        }
    }

    /** Which text tokens carry labels: every one (SyntheticBatch.mixed) or a voice-cloning turn's (voiceCloning). */
    enum Labels {
        MIXED, VOICE;

        /** The word the step timers and the PyTorch peer take and print: mixed or voice. */
        String word() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Labels parse(String word) {
            for (Labels l : values()) if (l.word().equals(word)) return l;
            throw new IllegalArgumentException("unknown labels " + word + ": mixed or voice");
        }
    }

    /** Steps from now on take a batch x seqLen batch with the given labels (owned by the rig: no scope is open). */
    void use(int batch, int seqLen, Labels labels) {
        input = labels == Labels.MIXED ? SyntheticBatch.mixed(config, batch, seqLen, new Random(1))
                : SyntheticBatch.voiceCloning(config, batch, seqLen, new Random(1));
    }

    long parameterCount() {
        return model.parameterCount();
    }

    /** Drops the gradients a failed step may have left (GpuStepTimer goes on with the next size after running out of memory). */
    void resetGradients() {
        if (optimizer != null) optimizer.zeroGrad();
        else for (Tensor p : model.parameters()) p.resetGrad();
    }

    /** One step; the loss. */
    double step() {
        return step(null);
    }

    /**
     * One step. With afterForward (not null) or Pass.PLAIN, the plain way instead of the trainer's: full logits, the
     * loss, then afterForward, then backward (NativeMemoryBenchmark measures what the forward holds there).
     */
    double step(Runnable afterForward) {
        try (Scope s = Scope.open()) {
            return run(afterForward).item();
        }
    }

    /** One step without reading the loss back: on CUDA the host then does not wait for the device (GpuStepTimer). */
    void stepQueued() {
        try (Scope s = Scope.open()) {
            run(null);
        }
    }

    /** The step in the caller's scope; the loss tensor. */
    private Tensor run(Runnable afterForward) {
        HiggsAudioBatch batch = input; // on the CPU, as the trainer hands it over: the model sends what it needs to device
        Tensor loss;
        if (afterForward == null && pass != Pass.PLAIN) {
            // the trainer's pass: heads only where there are labels, backward fused with the chunked loss
            loss = TrainingPass.run(model, batch, 8, new TrainingPass.Options(HiggsAudioLoss.Options.defaults(), pass == Pass.CHECKPOINTED, 1.0)).total();
        } else {
            HiggsAudioModel.Output out = model.forward(batch, 8);
            loss = HiggsAudioLoss.compute(out.logits(), out.expandedLabels(), out.audioLogits(), batch.labelAudioIds()).total();
            if (afterForward != null) afterForward.run();
            loss.backward();
        }
        if (optimizer != null) {
            optimizer.step();
            optimizer.zeroGrad();
        } else {
            for (Tensor p : model.parameters()) p.resetGrad();
        }
        return loss;
    }

    @Override
    public void close() {
        if (optimizer != null) optimizer.close();
        if (lora != null) lora.close();
        model.close();
    }
}
