package io.higgs4j.trainer;

import io.higgs4j.audio.Audio;
import io.higgs4j.audio.WavWriter;
import io.higgs4j.io.Npy;
import io.higgs4j.tokenizer.HiggsAudioTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Decodes audio codes back into a 24 kHz WAV with the Higgs audio tokenizer, for listening. */
@Command(name = "decode-audio", mixinStandardHelpOptions = true,
        description = "Decode Higgs audio codes (an .npy of K x T, K up to 8) into a 24 kHz mono 16-bit WAV with the audio tokenizer.")
public final class DecodeAudioCommand implements Callable<Integer> {

    @Mixin
    AudioTokenizerOptions tokenizer;

    @Option(names = "--codes", required = true, paramLabel = "CODES.npy", description = "the codes, K x T")
    Path codes;

    @Option(names = "--output", required = true, paramLabel = "OUT.wav", description = "the WAV to write")
    Path output;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        tokenizer.check();
        if (!Files.isRegularFile(codes)) {
            throw new IllegalArgumentException("--codes " + codes + (Files.isDirectory(codes) ? " is a directory, not a .npy file" : " does not exist"));
        }
        if (Files.isDirectory(output)) throw new IllegalArgumentException("--output " + output + " is a directory; give the WAV file to write");
        Npy.LongArray a = Npy.read(codes);
        if (a.dim() != 2) throw new IllegalArgumentException(codes + ": expected codes K x T, got shape " + Arrays.toString(a.shape()));
        Audio audio;
        try (HiggsAudioTokenizer t = tokenizer.load()) {
            try {
                audio = t.decode(a.rows());
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(codes + ": " + e.getMessage(), e);
            }
        }
        io.higgs4j.trainer.data.AtomicFile.write(output, tmp -> WavWriter.write(tmp, audio));
        spec.commandLine().getOut().printf(Locale.ROOT, "%s: %d frames -> %.2f s at %d Hz%n", output, a.shape()[1], audio.seconds(), audio.sampleRate());
        return 0;
    }
}
