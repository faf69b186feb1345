package io.higgs4j.tokenizer;

import io.higgs4j.io.CheckpointReader;
import io.higgs4j.io.TorchCheckpoint;
import io.higgs4j.nn.Init;
import io.higgs4j.nn.StateDictLoader;
import io.higgs4j.safetensors.SafetensorsCheckpoint;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Builds a {@link HiggsAudioTokenizer} from a tokenizer directory: {@code config.json} and the weights in
 * {@code model.safetensors}, or in {@code model.pth} (the torch.save state dict the tokenizer is released as, read
 * without running any pickled code), under the reference's names. Every parameter must be present with its shape; the only
 * entries skipped are {@code decoder_semantic.*} (training-only). HuBERT's positional convolution may be stored in
 * either of torch's weight-norm forms ({@code weight_g}/{@code weight_v}, or
 * {@code parametrizations.weight.original0}/{@code original1} from newer transformers).
 */
public final class AudioTokenizerLoader {
    static final String IGNORED_PREFIX = "decoder_semantic.";
    static final String TORCH_FILE = "model.pth";

    private AudioTokenizerLoader() {}

    public static HiggsAudioTokenizer load(Path dir, Device device) throws IOException {
        if (!Files.isDirectory(dir)) throw new IOException("audio tokenizer directory " + dir + " does not exist");
        AudioTokenizerConfig config = AudioTokenizerConfig.load(dir);
        Path weights = dir.resolve(SafetensorsCheckpoint.SINGLE_FILE);
        if (Files.isRegularFile(weights)) return load(weights, config, device);
        Path pth = dir.resolve(TORCH_FILE);
        if (!Files.isRegularFile(pth)) {
            throw new IOException("audio tokenizer " + dir + " has neither " + SafetensorsCheckpoint.SINGLE_FILE + " nor " + TORCH_FILE);
        }
        return load(pth, config, device);
    }

    /** The tokenizer of the given config with the weights of one safetensors file or torch.save state dict (.pth). */
    public static HiggsAudioTokenizer load(Path weights, AudioTokenizerConfig config, Device device) {
        HiggsAudioTokenizer tokenizer = new HiggsAudioTokenizer(config, Init.forLoading(DType.FLOAT32, device));
        try (CheckpointReader ckpt = weights.getFileName().toString().endsWith(".pth")
                ? TorchCheckpoint.open(weights) : SafetensorsCheckpoint.open(weights)) {
            StateDictLoader.load(tokenizer, ckpt, "", AudioTokenizerLoader::checkpointToModule);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
        return tokenizer;
    }

    /** A checkpoint entry's name in the module, or null for an entry the tokenizer does not use. */
    static String checkpointToModule(String name) {
        if (name.startsWith(IGNORED_PREFIX)) return null;
        return name.replace(".parametrizations.weight.original0", ".weight_g").replace(".parametrizations.weight.original1", ".weight_v");
    }
}
