package io.higgs4j.trainer;

import io.higgs4j.tokenizer.AudioTokenizerLoader;
import io.higgs4j.tokenizer.HiggsAudioTokenizer;
import io.higgs4j.torch.Device;
import io.higgs4j.trainer.hub.ModelLocator;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The options of the commands that run the audio tokenizer: where it is and on which device. The option is
 * {@code --audio_tokenizer_path}, as in train, generate and prepare-data.
 */
final class AudioTokenizerOptions {

    // Not required = true: the hidden old spelling below may give it instead, so check() enforces it.
    @Option(names = {"--audio_tokenizer_path", "--audio-tokenizer-path"}, paramLabel = "DIR|ID",
            description = "audio tokenizer directory: config.json and model.pth or model.safetensors; or its Hugging Face id "
                    + "(bosonai/higgs-audio-v2-tokenizer, optionally @revision), fetched into the Hugging Face cache")
    Path tokenizerPath;

    /** Deprecated: encode-audio and decode-audio took --tokenizer_path before every command named the codec alike. */
    @Option(names = {"--tokenizer_path", "--tokenizer-path"}, hidden = true, paramLabel = "DIR|ID")
    void deprecatedTokenizerPath(Path path) {
        tokenizerPath = path;
    }

    @Option(names = "--device", description = "cpu or cuda:N (default: cuda:0 when CUDA is available, else cpu)")
    String device;

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    /** Refuses a command line without the audio tokenizer, as picocli does for a required option. */
    void check() {
        if (tokenizerPath == null) {
            throw new ParameterException(command.commandLine(), "Missing required option: '--audio_tokenizer_path=DIR|ID'");
        }
    }

    HiggsAudioTokenizer load() throws IOException {
        check();
        Device dev = SharedOptions.device(device, 0);
        return AudioTokenizerLoader.load(ModelLocator.locate(tokenizerPath, ModelLocator.Kind.AUDIO_TOKENIZER), dev);
    }
}
