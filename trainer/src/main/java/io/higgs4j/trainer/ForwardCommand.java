package io.higgs4j.trainer;

import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioLoss;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.higgs.HiggsAudioWeights;
import io.higgs4j.nn.Init;
import io.higgs4j.safetensors.SafetensorsFile;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.trainer.hub.ModelLocator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * One forward (and optionally backward) pass on a batch saved by the reference collator, for parity checks against
 * the Python implementation: float32, training mode, merged length rounded to 8, default loss weighting.
 */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = "Run the model in float32 on a collated batch and save logits, labels, masks, losses and gradients.")
public final class ForwardCommand implements Callable<Integer> {

    @Option(names = {"--model_path", "--model-path"}, required = true, paramLabel = "DIR|ID",
            description = "directory with config.json and safetensors weights"
                    + ", or a Hugging Face id owner/name[@revision] (fetched into the Hugging Face cache)")
    Path modelPath;

    @Option(names = "--batch", required = true, description = "safetensors file with the collator's int64 tensors")
    Path batchPath;

    @Option(names = "--output", required = true, description = "safetensors file to write")
    Path output;

    @Option(names = "--grads", split = ",", description = "parameters whose gradient of total_loss to save as grad.<name>")
    List<String> grads = List.of();

    @Option(names = "--device", defaultValue = "cpu", description = "cpu or cuda:N (default: ${DEFAULT-VALUE})")
    String device;

    /** Besides these, audio_features (float) and audio_feature_attention_mask are read when present (Whisper). */
    static final List<String> FIELDS = List.of("input_ids", "attention_mask", "audio_in_ids", "audio_in_ids_start",
            "audio_out_ids", "audio_out_ids_start", "label_ids", "label_audio_ids");

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(batchPath)) throw new IllegalArgumentException("--batch " + batchPath + " is not a file");
        modelPath = ModelLocator.locate(modelPath, ModelLocator.Kind.MODEL);
        Device dev = Device.parse(device).checkAvailable();
        HiggsAudioConfig config = HiggsAudioConfig.fromFile(modelPath.resolve("config.json"));
        try (HiggsAudioModel model = new HiggsAudioModel(config, Init.forLoading(DType.FLOAT32, dev));
             Scope scope = Scope.open()) {
            HiggsAudioWeights.load(model, modelPath);
            model.train(true);
            Map<String, Tensor> params = model.namedParameters();
            for (String g : grads) {
                if (!params.containsKey(g)) throw new IllegalArgumentException("--grads names " + g + ", which is not a parameter of the model");
            }
            for (String g : grads) params.get(g).requiresGrad(true);
            HiggsAudioBatch batch = readBatch(batchPath, dev);
            HiggsAudioModel.Output out = model.forward(batch, 8);
            HiggsAudioLoss.Result loss = HiggsAudioLoss.compute(out.logits(), out.expandedLabels(),
                    out.audioLogits(), batch.labelAudioIds(), HiggsAudioLoss.Options.defaults());
            if (!grads.isEmpty()) loss.total().backward();

            Map<String, Tensor> result = new LinkedHashMap<>();
            result.put("logits", out.logits().to(Device.CPU, DType.FLOAT32));
            result.put("audio_logits", out.audioLogits() != null ? out.audioLogits().to(Device.CPU, DType.FLOAT32)
                    : Tensor.zeros(new long[] {0, config.audioNumCodebooks(), config.audioCodebookSize() + 2}));
            result.put("expanded_labels", out.expandedLabels().to(Device.CPU, DType.INT64));
            result.put("audio_out_mask", out.audioOutMask().to(Device.CPU, DType.INT64));
            result.put("text_loss", loss.text().to(Device.CPU, DType.FLOAT32));
            result.put("audio_loss", loss.audio().to(Device.CPU, DType.FLOAT32));
            result.put("total_loss", loss.total().to(Device.CPU, DType.FLOAT32));
            result.put("codebook_losses", loss.codebookLosses().to(Device.CPU, DType.FLOAT32));
            for (String g : grads) {
                Tensor grad = params.get(g).grad();
                result.put("grad." + g, grad == null ? Tensor.zerosLike(params.get(g)).to(Device.CPU, DType.FLOAT32)
                        : grad.to(Device.CPU, DType.FLOAT32));
            }
            SafetensorsWriter.write(output, result, Map.of("producer", "higgs4j forward"));
            System.out.printf("wrote %s: total_loss %.6f (text %.6f, audio %.6f)%n", output, loss.total().item(),
                    loss.text().item(), loss.audio().item());
        }
        return 0;
    }

    /** Reads the collator's fields; audio fields may be absent (text-only batches); others are ignored. */
    static HiggsAudioBatch readBatch(Path path, Device device) {
        try (SafetensorsFile f = SafetensorsFile.open(path)) {
            for (String required : List.of("input_ids", "attention_mask")) {
                if (!f.contains(required)) throw new IllegalArgumentException("--batch " + path + " has no " + required + " tensor");
            }
            Tensor[] t = new Tensor[FIELDS.size()];
            for (int i = 0; i < t.length; i++) {
                String name = FIELDS.get(i);
                if (!f.contains(name)) continue;
                if (f.info(name).dtype().isFloatingPoint()) {
                    throw new IllegalArgumentException("--batch " + path + ": " + name + " must be an integer tensor, got " + f.info(name).dtype());
                }
                t[i] = f.load(name, DType.INT64).to(device);
            }
            if ((t[2] == null) != (t[3] == null) || (t[4] == null) != (t[5] == null)) {
                throw new IllegalArgumentException("--batch " + path + ": audio ids and their *_start tensor come together");
            }
            Tensor features = null, featureMask = null;
            if (f.contains("audio_features")) {
                if (!f.contains("audio_feature_attention_mask")) {
                    throw new IllegalArgumentException("--batch " + path + ": audio_features without audio_feature_attention_mask");
                }
                features = f.load("audio_features", DType.FLOAT32).to(device);
                featureMask = f.load("audio_feature_attention_mask", DType.INT64).to(device);
            }
            try {
                return new HiggsAudioBatch(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], features, featureMask);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--batch " + path + ": " + e.getMessage(), e);
            }
        }
    }
}
