package io.higgs4j.trainer;

import io.higgs4j.tokenizer.AudioTokenizerLoader;
import io.higgs4j.tokenizer.HiggsAudioTokenizer;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Torch;
import io.higgs4j.trainer.hub.ModelLocator;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;

/** The options of the commands that run the audio tokenizer: where it is and on which device. */
final class AudioTokenizerOptions {

    @Option(names = {"--tokenizer_path", "--tokenizer-path"}, required = true, paramLabel = "DIR|ID",
            description = "audio tokenizer directory: config.json and model.pth or model.safetensors; or its Hugging Face id "
                    + "(bosonai/higgs-audio-v2-tokenizer, optionally @revision), fetched into the Hugging Face cache")
    Path tokenizerPath;

    @Option(names = "--device", description = "cpu or cuda:N (default: cuda:0 when CUDA is available, else cpu)")
    String device;

    HiggsAudioTokenizer load() throws IOException {
        Device dev = device != null ? Device.parse(device).checkAvailable() : Torch.cudaAvailable() ? Device.cuda(0) : Device.CPU;
        return AudioTokenizerLoader.load(ModelLocator.locate(tokenizerPath, ModelLocator.Kind.AUDIO_TOKENIZER), dev);
    }
}
