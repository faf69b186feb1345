package io.higgs4j.trainer.data;

import io.higgs4j.audio.Audio;
import io.higgs4j.io.Npy;
import io.higgs4j.tokenizer.HiggsAudioTokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns the audio of a data set into codes with the audio tokenizer, writing each clip's codes beside it as
 * {@code .codes.npy} (int64, K x T), where {@link AudioCodes} looks for them. A clip whose codes file exists is
 * skipped, so a second run (or training after {@code encode-audio}) encodes nothing again. Each file is written to a
 * temporary name and moved into place, so an interrupted run leaves no partial codes file. A clip that cannot be read
 * or encoded is reported by name and the others go on.
 */
public final class CodesEncoder {
    private static final Logger LOG = LoggerFactory.getLogger(CodesEncoder.class);

    /** One audio file and the codes file it gets. */
    public record Job(Path audio, Path codes) {}

    /** What a run did: files encoded (and their seconds of audio), skipped as already encoded, and failures by file. */
    public record Summary(int encoded, double seconds, int skipped, List<String> failures, double wallSeconds) {
        public String describe() {
            return String.format(Locale.ROOT, "%d encoded (%.1f s of audio in %.1f s, %.2f s of audio per second), %d already encoded, %d failed",
                    encoded, seconds, wallSeconds, seconds / Math.max(wallSeconds, 1e-9), skipped, failures.size());
        }
    }

    private CodesEncoder() {}

    /** Every distinct audio file the samples name by audio_url without an explicit audio_codes file, in data order. */
    public static List<Job> jobs(List<ChatMlSample> samples) {
        Map<Path, Job> out = new LinkedHashMap<>();
        for (ChatMlSample s : samples) {
            for (ChatMlSample.AudioItem item : s.audioItems()) {
                ChatMlSample.Audio a = item.audio();
                if (a.audioUrl() == null || a.audioCodes() != null) continue;
                Path audio = s.baseDir().resolve(a.audioUrl()).normalize();
                out.putIfAbsent(audio, new Job(audio, AudioCodes.codesPath(s.baseDir(), a)));
            }
        }
        return requireOwnCodesFile(new ArrayList<>(out.values()), "; or give the samples their own \"audio_codes\"");
    }

    /** The jobs of every audio file (.wav, .flac, .mp3, any letter case) under a directory, sorted by path. */
    public static List<Job> jobsInDirectory(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            return requireOwnCodesFile(files.filter(p -> Files.isRegularFile(p) && io.higgs4j.audio.AudioFiles.isAudioFile(p))
                    .sorted()
                    .map(p -> new Job(p, p.resolveSibling(AudioCodes.siblingCodesName(p.getFileName().toString()))))
                    .toList(), "");
        }
    }

    /**
     * The jobs, refused (every case named) where two audio files would get one codes file: x.wav and x.mp3 both have
     * x.codes.npy, the file training reads for either, so the second would overwrite the first or be taken as its
     * codes.
     */
    static List<Job> requireOwnCodesFile(List<Job> jobs, String hint) {
        Map<Path, Path> audioOf = new LinkedHashMap<>();
        List<String> clashes = new ArrayList<>();
        for (Job j : jobs) {
            Path first = audioOf.putIfAbsent(j.codes(), j.audio());
            if (first != null) clashes.add(first + " and " + j.audio() + " -> " + j.codes());
        }
        if (clashes.isEmpty()) return jobs;
        throw new IllegalArgumentException(clashes.size() + " codes file" + (clashes.size() > 1 ? "s" : "") + " would be shared by "
                + "two audio files (codes go beside the audio, named after it without its extension); nothing was encoded. "
                + "Rename or move one of each pair" + hint + ":\n  " + String.join("\n  ", clashes));
    }

    /** Encodes every job whose codes file does not exist yet; progress goes to out (a rewritten line on a terminal). */
    public static Summary encodeMissing(List<Job> jobs, HiggsAudioTokenizer tokenizer, PrintStream out, boolean terminal) {
        List<Job> todo = jobs.stream().filter(j -> !Files.exists(j.codes())).toList();
        int skipped = jobs.size() - todo.size();
        List<String> failures = new ArrayList<>();
        long start = System.nanoTime();
        double seconds = 0;
        int done = 0;
        for (Job job : todo) {
            try {
                seconds += encode(job, tokenizer);
                done++;
            } catch (IOException | RuntimeException e) {
                failures.add(job.audio() + ": " + e.getMessage());
                LOG.warn("could not encode {}: {}", job.audio(), e.getMessage());
            }
            double wall = (System.nanoTime() - start) / 1e9;
            int finished = done + failures.size();
            String line = String.format(Locale.ROOT, "encoding audio %d/%d  %.1f s of audio  %.2fx real time  ETA %.0f s",
                    finished, todo.size(), seconds, seconds / Math.max(wall, 1e-9), wall / finished * (todo.size() - finished));
            if (terminal) {
                out.print("\r" + line + "   ");
                if (finished == todo.size()) out.println();
                out.flush();
            } else if (finished == todo.size() || finished % 10 == 0) {
                out.println(line);
            }
        }
        return new Summary(done, seconds, skipped, failures, (System.nanoTime() - start) / 1e9);
    }

    /** Encodes one file; returns its length in seconds. */
    static double encode(Job job, HiggsAudioTokenizer tokenizer) throws IOException {
        if (!Files.isRegularFile(job.audio())) throw new IOException("the audio file does not exist");
        Audio audio = io.higgs4j.audio.AudioFiles.read(job.audio());
        long[][] codes = tokenizer.encode(audio);
        AtomicFile.write(job.codes(), tmp -> Npy.write(tmp, codes, "<i8"));
        return audio.seconds();
    }
}
