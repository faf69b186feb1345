package io.higgs4j.trainer;

import io.higgs4j.tokenizer.HiggsAudioTokenizer;
import io.higgs4j.trainer.data.ChatMlReader;
import io.higgs4j.trainer.data.CodesEncoder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** Encodes a data set's audio into codes with the Higgs audio tokenizer, beside each audio file. */
@Command(name = "encode-audio", mixinStandardHelpOptions = true,
        description = {"Encode audio into Higgs audio codes (8 x T at 25 Hz) with the audio tokenizer and write them beside each audio file "
                + "as NAME.codes.npy, where training looks for them. Audio that already has its codes file is skipped.",
                "--data_path is a ChatML .json/.jsonl file or directory (every audio_url without audio_codes), or a directory "
                        + "searched, with its sub-folders, for audio files: wav, flac and mp3 (by extension, in any letter case).",
                "Two audio files that would share a codes file (x.wav and x.mp3 in one folder) stop the run before anything is "
                        + "encoded, each pair named.",
                "Exit status: 0 when every file was encoded or skipped, 1 when any failed (each failure is named)."})
public final class EncodeAudioCommand implements Callable<Integer> {

    @Mixin
    AudioTokenizerOptions tokenizer;

    @Option(names = {"--data_path", "--data-path"}, required = true, paramLabel = "PATH", description = "ChatML data, or a directory of audio files (.wav, .flac, .mp3)")
    Path dataPath;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        tokenizer.check();
        if (!Files.exists(dataPath)) throw new IllegalArgumentException("--data_path " + dataPath + " does not exist");
        List<CodesEncoder.Job> jobs = jobs(dataPath);
        PrintWriter out = spec.commandLine().getOut();
        if (jobs.isEmpty()) {
            out.println("no audio to encode in " + dataPath);
            return 0;
        }
        CodesEncoder.Summary summary;
        try (HiggsAudioTokenizer t = tokenizer.load()) {
            summary = CodesEncoder.encodeMissing(jobs, t, System.err, System.console() != null && System.console().isTerminal());
        }
        out.println(jobs.size() + " audio files: " + summary.describe());
        summary.failures().forEach(f -> out.println("  failed: " + f));
        out.flush();
        return summary.failures().isEmpty() ? 0 : 1;
    }

    /** A directory holding ChatML files is data; any other directory is searched for audio files. */
    static List<CodesEncoder.Job> jobs(Path dataPath) throws java.io.IOException {
        boolean chatMl = Files.isRegularFile(dataPath);
        if (!chatMl) {
            try (var s = Files.list(dataPath)) {
                chatMl = s.anyMatch(p -> p.toString().endsWith(".json") || p.toString().endsWith(".jsonl"));
            }
        }
        return chatMl ? CodesEncoder.jobs(ChatMlReader.read(dataPath).samples()) : CodesEncoder.jobsInDirectory(dataPath);
    }
}
