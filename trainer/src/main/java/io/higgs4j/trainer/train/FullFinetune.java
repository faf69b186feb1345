package io.higgs4j.trainer.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.higgs.HiggsAudioWeights;
import io.higgs4j.safetensors.SafetensorsCheckpoint;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Full fine-tuning: every weight of the text and audio paths is trained (the Whisper tower, when there is one, stays
 * frozen). The weights are float32 and are their own master weights: gradients and AdamW's moments are float32 too,
 * 16 bytes per trained parameter (bf16 working copies beside float32 masters are not implemented). A checkpoint is the
 * model in the released layout (model.safetensors.index.json with shards of at most 5 GB, under the reference names,
 * and config.json), in float32 so that a resumed run repeats an uninterrupted one; --model_path reads it as it reads the
 * release.
 */
public final class FullFinetune implements Trained {

    static final long SHARD_BYTES = 5_000_000_000L;
    private static final String TOWER = "audio_tower.";

    private final HiggsAudioModel model;

    /** Makes every weight but the Whisper tower's trainable; the model must be float32. */
    public FullFinetune(HiggsAudioModel model) {
        for (var e : model.namedParameters().entrySet()) {
            if (e.getValue().dtype() != DType.FLOAT32) {
                throw new IllegalArgumentException("full fine-tuning trains float32 weights, but " + e.getKey() + " is "
                        + e.getValue().dtype() + " (use --dtype fp32)");
            }
        }
        this.model = model;
        parameters().values().forEach(t -> t.requiresGrad(true));
    }

    @Override
    public Map<String, Tensor> parameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        model.namedParameters().forEach((n, t) -> {
            if (!n.startsWith(TOWER)) out.put(n, t);
        });
        return out;
    }

    @Override
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        SafetensorsWriter.writeSharded(dir, model.namedParameters(), SHARD_BYTES, Map.of("format", "pt"));
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), model.config.toJson());
    }

    @Override
    public void load(Path checkpoint) {
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(checkpoint)) {
            HiggsAudioWeights.load(model, ckpt);
        }
    }

    @Override
    public String describe() {
        long trained = parameters().values().stream().mapToLong(Tensor::numel).sum();
        return String.format(Locale.ROOT, "full fine-tuning in float32; Total parameters: %,d; Trainable parameters: %,d (%.2f%%)",
                model.parameterCount(), trained, 100.0 * trained / model.parameterCount());
    }

    @Override
    public void close() {
        // the weights belong to the model
    }
}
