package io.higgs4j.trainer;

import io.higgs4j.tokenizer.AudioTokenizerLoader;
import io.higgs4j.tokenizer.HiggsAudioTokenizer;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Torch;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;

/** The options of the commands that run the audio tokenizer: where it is and on which device. */
final class AudioTokenizerOptions {

    @Option(names = {"--tokenizer_path", "--tokenizer-path"}, required = true, paramLabel = "DIR",
            description = "audio tokenizer directory: config.json and model.pth or model.safetensors (bosonai/higgs-audio-v2-tokenizer)")
    Path tokenizerPath;

    @Option(names = "--device", description = "cpu or cuda:N (default: cuda:0 when CUDA is available, else cpu)")
    String device;

    HiggsAudioTokenizer load() throws IOException {
        Device dev = device != null ? Device.parse(device) : Torch.cudaAvailable() ? Device.cuda(0) : Device.CPU;
        return AudioTokenizerLoader.load(tokenizerPath, dev);
    }
}
