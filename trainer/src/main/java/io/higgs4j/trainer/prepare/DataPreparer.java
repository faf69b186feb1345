package io.higgs4j.trainer.prepare;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.higgs4j.audio.Audio;
import io.higgs4j.io.Npy;
import io.higgs4j.trainer.data.AudioCodes;
import io.higgs4j.trainer.data.ChatMlReader;
import io.higgs4j.trainer.data.ChatMlSample;
import io.higgs4j.trainer.data.ChatMlSample.Content;
import io.higgs4j.trainer.data.ChatMlSample.Message;
import io.higgs4j.trainer.data.ChatMlSample.Role;
import io.higgs4j.trainer.data.EvalSplit;
import io.higgs4j.trainer.data.PromptLayout;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * From clips to a training set: each clip's codes (written once to {@code OUT/codes/SPEAKER/NAME.codes.npy}, so a
 * re-run skips what is done), the duration filter, an optional held-out split by speaker, and one voice-cloning
 * sample per clip whose reference is another clip of the same speaker (seeded), laid out as the prompt layout says:
 * the lines of {@code train.jsonl} (and {@code eval.jsonl}), which the caller writes once everything else succeeded.
 */
public final class DataPreparer {

    /** The codec itself failed (the audio tokenizer could not be loaded): the run stops, no clip is blamed. */
    public static final class CodecException extends RuntimeException {
        public CodecException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Decodes and encodes one audio file. */
    public interface Codec {
        Audio read(Path audio) throws IOException;

        long[][] encode(Audio audio);
    }

    public record Options(PromptLayout layout, double evalRatio, double minSeconds, double maxSeconds, long seed) {
        public Options {
            // !(x >= 0) also refuses NaN, which every comparison below would otherwise read as "no limit"
            if (!(minSeconds >= 0) || Double.isInfinite(minSeconds)) {
                throw new IllegalArgumentException("--min_seconds must be a finite number >= 0 (0: no limit), got " + minSeconds);
            }
            if (!(maxSeconds >= 0) || Double.isInfinite(maxSeconds)) {
                throw new IllegalArgumentException("--max_seconds must be a finite number >= 0 (0: no limit), got " + maxSeconds);
            }
            if (maxSeconds > 0 && minSeconds > maxSeconds) {
                throw new IllegalArgumentException("--min_seconds " + minSeconds + " and --max_seconds " + maxSeconds + " do not make a range");
            }
            if (evalRatio != 0 && !(evalRatio > 0 && evalRatio < 1)) throw new IllegalArgumentException("--eval_ratio must be in (0, 1), got " + evalRatio);
        }

        /** Refuses --eval_ratio over fewer than two speakers (the split holds out whole speakers). */
        public void checkSplit(List<Clip> clips) {
            if (evalRatio == 0) return;
            List<String> speakers = clips.stream().map(Clip::speaker).distinct().toList();
            if (speakers.size() < 2) {
                throw new IllegalArgumentException("--eval_ratio holds out whole speakers, and every usable clip is of speaker '"
                        + (speakers.isEmpty() ? "" : speakers.getFirst()) + "'; leave --eval_ratio out, or prepare the held-out "
                        + "speakers with their own prepare-data --input and --output_dir and give that train.jsonl to train --eval_data_path");
            }
        }
    }

    /** What a run made; seconds are of audio, wallSeconds the time it took, encodedSeconds the audio encoded by this run. */
    public record Result(int clipsFound, int clipsUsed, int speakers, double secondsUsed, List<String> trainLines, List<String> evalLines,
                         double referenceSeconds, double targetSeconds, List<Skipped> skipped, int encoded, double encodedSeconds,
                         double encodeWallSeconds) {

        public int trainSamples() {
            return trainLines.size();
        }

        public int evalSamples() {
            return evalLines.size();
        }

        public Map<String, Integer> skippedByReason() {
            Map<String, Integer> m = new TreeMap<>();
            for (Skipped s : skipped) m.merge(s.reason().key(), 1, Integer::sum);
            return m;
        }
    }

    private record Encoded(Clip clip, Path codes, double seconds) {}

    private final Codec codec;
    private final Options options;
    private final PrintStream progress;

    public DataPreparer(Codec codec, Options options, PrintStream progress) {
        this.codec = codec;
        this.options = options;
        this.progress = progress;
    }

    /** Encodes what has no codes yet and lays out the samples; writes only codes files, under out/codes. */
    public Result prepare(List<Clip> clips, List<Skipped> skippedBefore, Path out) throws IOException {
        options.checkSplit(clips);
        Map<Path, Clip> byCodes = new LinkedHashMap<>();
        for (Clip c : clips) {
            Clip other = byCodes.putIfAbsent(codesFile(out, c), c);
            // names carry a hash of the audio's path; two equal ones would be the same file listed twice
            if (other != null) throw new IllegalArgumentException(other.audio() + " and " + c.audio() + " would share the codes file " + codesFile(out, c));
        }
        List<Skipped> skipped = new ArrayList<>(skippedBefore);
        List<Encoded> kept = new ArrayList<>();
        int encoded = 0;
        double encodedSeconds = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < clips.size(); i++) {
            Clip c = clips.get(i);
            Path codes = codesFile(out, c);
            double seconds;
            long[][] made = null;
            try {
                if (Files.isRegularFile(codes)) {
                    seconds = Npy.readHeader(codes).shape()[1] / AudioCodes.FRAMES_PER_SECOND;
                } else {
                    Audio a = codec.read(c.audio());
                    seconds = a.seconds();
                    if (inRange(seconds)) made = codec.encode(a);
                }
            } catch (CodecException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                skipped.add(new Skipped(c.audio().toString(), Skipped.Reason.UNREADABLE_AUDIO, e.getMessage()));
                continue;
            }
            if (made != null) {
                long[][] k = made;
                // outside the catch above: a codes file that cannot be written (full disk, no permission) is no fault
                // of the clip, and stops the run rather than skipping every clip as unreadable
                io.higgs4j.trainer.data.AtomicFile.write(codes, tmp -> Npy.write(tmp, k, "<i8"));
                encoded++;
                encodedSeconds += seconds;
            }
            if (options.minSeconds() > 0 && seconds < options.minSeconds()) {
                skipped.add(new Skipped(c.audio().toString(), Skipped.Reason.TOO_SHORT, String.format(Locale.ROOT, "%.2f s < %.2f s", seconds, options.minSeconds())));
            } else if (options.maxSeconds() > 0 && seconds > options.maxSeconds()) {
                skipped.add(new Skipped(c.audio().toString(), Skipped.Reason.TOO_LONG, String.format(Locale.ROOT, "%.2f s > %.2f s", seconds, options.maxSeconds())));
            } else {
                kept.add(new Encoded(c, codes, seconds));
            }
            if (progress != null && ((i + 1) % 50 == 0 || i + 1 == clips.size())) {
                double wall = (System.nanoTime() - t0) / 1e9;
                progress.printf(Locale.ROOT, "prepared %d/%d clips; encoded %d (%.1f s of audio, %.2fx real time)%n", i + 1, clips.size(),
                        encoded, encodedSeconds, encodedSeconds / Math.max(wall, 1e-9));
            }
        }
        double encodeWall = (System.nanoTime() - t0) / 1e9;

        Map<String, List<Encoded>> bySpeaker = new LinkedHashMap<>();
        for (Encoded e : kept) bySpeaker.computeIfAbsent(e.clip().speaker(), s -> new ArrayList<>()).add(e);
        List<Encoded> usable = new ArrayList<>();
        for (List<Encoded> group : bySpeaker.values()) {
            if (group.size() < 2) {
                Encoded e = group.getFirst();
                skipped.add(new Skipped(e.clip().audio().toString(), Skipped.Reason.ONLY_CLIP_OF_SPEAKER,
                        "speaker '" + e.clip().speaker() + "' has no other clip to be its reference"));
            } else {
                usable.addAll(group);
            }
        }
        if (usable.isEmpty()) {
            throw new IllegalArgumentException("no usable clip: every clip was skipped or is its speaker's only one (" + skipped.size() + " skipped)");
        }
        List<Encoded> train = usable, eval = List.of();
        if (options.evalRatio() > 0) {
            options.checkSplit(usable.stream().map(Encoded::clip).toList());  // the filters may have left one speaker
            EvalSplit.Parts<Encoded> parts = EvalSplit.split(usable, e -> e.clip().speaker(), options.evalRatio(), options.seed());
            train = parts.train();
            eval = parts.eval();
        }
        Random rnd = new Random(options.seed());
        double[] refTarget = new double[2];
        List<String> trainLines = samples(train, out, rnd, refTarget), evalLines = samples(eval, out, rnd, refTarget);
        double used = usable.stream().mapToDouble(Encoded::seconds).sum();
        return new Result(clips.size() + skippedBefore.size(), usable.size(), (int) usable.stream().map(e -> e.clip().speaker()).distinct().count(),
                used, trainLines, evalLines, refTarget[0], refTarget[1], skipped, encoded, encodedSeconds, encodeWall);
    }

    /** OUT/codes/SPEAKER/NAME.codes.npy. */
    static Path codesFile(Path out, Clip c) {
        return out.resolve("codes").resolve(ClipSources.safeName(c.speaker())).resolve(c.name() + ".codes.npy");
    }

    private boolean inRange(double seconds) {
        return !(options.minSeconds() > 0 && seconds < options.minSeconds()) && !(options.maxSeconds() > 0 && seconds > options.maxSeconds());
    }

    /** One sample per clip, its reference another clip of its speaker in this part. */
    private List<String> samples(List<Encoded> part, Path out, Random rnd, double[] refTarget) throws IOException {
        Map<String, List<Encoded>> bySpeaker = new LinkedHashMap<>();
        for (Encoded e : part) bySpeaker.computeIfAbsent(e.clip().speaker(), s -> new ArrayList<>()).add(e);
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (Encoded target : part) {
            List<Encoded> others = bySpeaker.get(target.clip().speaker());
            if (others.size() < 2) continue;  // a speaker the split left alone in this part (cannot happen by speaker)
            Encoded ref;
            do {
                ref = others.get(rnd.nextInt(others.size()));
            } while (ref == target);
            ChatMlSample shape = new ChatMlSample(target.clip().name(), out, List.of(
                    new Message(Role.USER, List.of(new ChatMlSample.Text(ref.clip().text()), audio(ref, out))),
                    new Message(Role.ASSISTANT, List.of(new ChatMlSample.Text(target.clip().text()), audio(target, out)))),
                    null, target.clip().speaker(), null);
            lines.add(json.writeValueAsString(toJson(json, ChatMlReader.voiceCloning(shape, options.layout()))));
            refTarget[0] += ref.seconds();
            refTarget[1] += target.seconds();
        }
        return lines;
    }

    private static ChatMlSample.Audio audio(Encoded e, Path out) {
        Path abs = e.clip().audio().toAbsolutePath().normalize();
        Path base = out.toAbsolutePath().normalize();
        String url = abs.getRoot().equals(base.getRoot()) ? base.relativize(abs).toString() : abs.toString();
        return new ChatMlSample.Audio(url, base.relativize(e.codes().toAbsolutePath().normalize()).toString(), false, null, null);
    }

    private static ObjectNode toJson(ObjectMapper json, ChatMlSample s) {
        ObjectNode n = json.createObjectNode();
        ArrayNode messages = n.putArray("messages");
        for (Message m : s.messages()) {
            ObjectNode mn = messages.addObject().put("role", m.role().wireName());
            ArrayNode content = mn.putArray("content");
            for (Content c : m.content()) {
                switch (c) {
                    case ChatMlSample.Text t -> content.addObject().put("type", "text").put("text", t.text());
                    case ChatMlSample.Audio a -> content.addObject().put("type", "audio").put("audio_url", a.audioUrl()).put("audio_codes", a.audioCodes());
                }
            }
        }
        if (s.startIndex() != null) n.put("start_index", s.startIndex());
        n.put("speaker", s.speaker());
        return n;
    }
}
