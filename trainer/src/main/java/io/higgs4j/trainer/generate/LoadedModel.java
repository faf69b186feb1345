package io.higgs4j.trainer.generate;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Torch;

import java.nio.file.Path;

/** A model ready to generate: base weights (or a seeded random initialisation) and an optional LoRA adapter. */
public record LoadedModel(HiggsAudioModel model, LoraModel lora) implements AutoCloseable {

    /**
     * @param weights a model directory, or null for a random initialisation from seed (tests, presets)
     * @param merge   fold the adapter into the weights (faster), else keep its branches (and modules_to_save copies)
     */
    public static LoadedModel load(HiggsAudioConfig config, Path weights, Long seed, Path adapter, boolean merge, Device device, DType dtype) {
        HiggsAudioModel model;
        if (weights != null) {
            model = new HiggsAudioModel(config, Init.forLoading(dtype, device));
            try {
                model.loadWeights(weights, null);
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
        } else {
            Torch.manualSeed(seed == null ? 0 : seed);
            model = new HiggsAudioModel(config, new Init(dtype, device, config.textConfig().initializerRange()));
        }
        if (adapter == null) return new LoadedModel(model, null);
        LoraModel lora;
        try {
            lora = LoraModel.load(model, adapter, Init.forLoading(DType.FLOAT32, device));
        } catch (Exception e) {
            model.close();
            throw new IllegalArgumentException("--adapter " + adapter + " does not fit the model" + (weights != null ? " in " + weights : "")
                    + ": " + e.getMessage(), e);
        }
        if (!merge) return new LoadedModel(model, lora);
        lora.unload(true);   // merged into the base weights; modules_to_save copies replace their originals
        lora.close();
        model.to(dtype);
        return new LoadedModel(model, null);
    }

    @Override
    public void close() {
        if (lora != null) lora.close();
        model.close();
    }
}
