package io.higgs4j.trainer;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.higgs.HiggsAudioWeights;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.safetensors.SafetensorsCheckpoint;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.trainer.hub.ModelLocator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * Folds a PEFT LoRA adapter into the base weights and writes a full checkpoint in the released layout: sharded
 * safetensors under the reference names, model.safetensors.index.json, config.json and the tokenizer files.
 */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Merge a LoRA adapter into the base model and write a full checkpoint the reference implementation loads.")
public final class MergeCommand implements Callable<Integer> {

    @Option(names = {"--model_path", "--model-path"}, required = true, paramLabel = "DIR|ID",
            description = "base model directory (config.json, safetensors)"
                    + ", or a Hugging Face id owner/name[@revision] (fetched into the Hugging Face cache)")
    Path modelPath;

    @Option(names = "--adapter", required = true, description = "PEFT adapter directory (adapter_config.json, adapter_model.safetensors)")
    Path adapter;

    @Option(names = {"--output_dir", "--output-dir"}, required = true, description = "where to write the merged model; must not exist or be empty")
    Path outputDir;

    @Option(names = {"--max_shard_size", "--max-shard-size"}, defaultValue = "5000000000",
            description = "largest shard in bytes (default: ${DEFAULT-VALUE}, as Hugging Face's 5GB)")
    long maxShardSize;

    @Override
    public Integer call() throws Exception {
        if (maxShardSize < 1) throw new IllegalArgumentException("--max_shard_size must be >= 1 byte, got " + maxShardSize);
        if (Files.exists(outputDir) && !Files.isDirectory(outputDir)) {
            throw new IllegalArgumentException("--output_dir " + outputDir + " is a file, not a directory");
        }
        if (Files.exists(outputDir)) {
            try (Stream<Path> s = Files.list(outputDir)) {
                if (s.findAny().isPresent()) throw new IllegalArgumentException("--output_dir " + outputDir + " is not empty");
            }
        }
        modelPath = ModelLocator.locate(modelPath, ModelLocator.Kind.MODEL);
        HiggsAudioConfig config = HiggsAudioConfig.fromFile(modelPath.resolve("config.json"));
        DType dtype;
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(modelPath)) {
            dtype = ckpt.info(ckpt.names().getFirst()).dtype(); // keep the checkpoint's dtype (bf16 for the release)
        }
        Path tmp = io.higgs4j.io.TempSibling.directory(outputDir);
        try (HiggsAudioModel model = new HiggsAudioModel(config, Init.forLoading(dtype, Device.CPU))) {
            HiggsAudioWeights.load(model, modelPath);
            try (LoraModel lora = LoraModel.load(model, adapter, Init.forLoading(DType.FLOAT32, Device.CPU))) {
                lora.unload(true); // W + (alpha/r) B A in float32, cast back; modules_to_save copies replace the originals
            }
            model.to(dtype); // float32 modules_to_save copies back to the checkpoint's dtype
            SafetensorsWriter.writeSharded(tmp, model.namedParameters(), maxShardSize, Map.of("format", "pt"));
            copyNonWeightFiles(modelPath, tmp);
            if (Files.exists(outputDir)) Files.delete(outputDir); // empty, checked above
            Files.move(tmp, outputDir, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            if (Files.exists(tmp)) deleteTree(tmp);
        }
        System.out.println("merged " + adapter + " into " + modelPath + " -> " + outputDir);
        return 0;
    }

    /** config.json, tokenizer and generation files: everything but the weights and their index. */
    static void copyNonWeightFiles(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString();
                if (!Files.isRegularFile(f) || n.endsWith(".safetensors") || n.equals("model.safetensors.index.json")
                        || n.endsWith(".bin") || n.endsWith(".pt")) continue;
                Files.copy(f, to.resolve(n));
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
