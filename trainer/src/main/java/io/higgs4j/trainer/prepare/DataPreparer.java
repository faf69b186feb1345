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
import java.nio.charset.StandardCharsets;
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
 * sample per clip whose reference is another clip of the same speaker (seeded), laid out as the prompt layout says,
 * in {@code OUT/train.jsonl} (and {@code OUT/eval.jsonl}), each written whole or not at all.
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
            if (minSeconds < 0 || maxSeconds < 0 || (maxSeconds > 0 && minSeconds > maxSeconds)) {
                throw new IllegalArgumentException("--min_seconds " + minSeconds + " and --max_seconds " + maxSeconds + " do not make a range");
            }
            if (evalRatio != 0 && !(evalRatio > 0 && evalRatio < 1)) throw new IllegalArgumentException("--eval_ratio must be in (0, 1), got " + evalRatio);
        }
    }

    /** What a run made; seconds are of audio, wallSeconds the time it took, encodedSeconds the audio encoded by this run. */
    public record Result(int clipsFound, int clipsUsed, int speakers, double secondsUsed, int trainSamples, int evalSamples,
                         double referenceSeconds, double targetSeconds, List<Skipped> skipped, int encoded, double encodedSeconds,
                         double encodeWallSeconds) {

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

    public Result prepare(List<Clip> clips, List<Skipped> skippedBefore, Path out) throws IOException {
        List<Skipped> skipped = new ArrayList<>(skippedBefore);
        List<Encoded> kept = new ArrayList<>();
        int encoded = 0;
        double encodedSeconds = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < clips.size(); i++) {
            Clip c = clips.get(i);
            Path codes = out.resolve("codes").resolve(safe(c.speaker())).resolve(c.name() + ".codes.npy");
            double seconds;
            try {
                if (Files.isRegularFile(codes)) {
                    seconds = Npy.readHeader(codes).shape()[1] / AudioCodes.FRAMES_PER_SECOND;
                } else {
                    Audio a = codec.read(c.audio());
                    seconds = a.seconds();
                    if (inRange(seconds)) {
                        long[][] k = codec.encode(a);
                        io.higgs4j.trainer.data.AtomicFile.write(codes, tmp -> Npy.write(tmp, k, "<i8"));
                        encoded++;
                        encodedSeconds += seconds;
                    }
                }
            } catch (CodecException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                skipped.add(new Skipped(c.audio().toString(), Skipped.Reason.UNREADABLE_AUDIO, e.getMessage()));
                continue;
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
            EvalSplit.Parts<Encoded> parts = EvalSplit.split(usable, e -> e.clip().speaker(), options.evalRatio(), options.seed());
            train = parts.train();
            eval = parts.eval();
        }
        Random rnd = new Random(options.seed());
        double[] refTarget = new double[2];
        List<String> trainLines = samples(train, out, rnd, refTarget), evalLines = samples(eval, out, rnd, refTarget);
        write(out.resolve("train.jsonl"), trainLines);
        if (!eval.isEmpty()) write(out.resolve("eval.jsonl"), evalLines);
        else Files.deleteIfExists(out.resolve("eval.jsonl"));  // a previous run's split must not linger
        double used = usable.stream().mapToDouble(Encoded::seconds).sum();
        return new Result(clips.size() + skippedBefore.size(), usable.size(), (int) usable.stream().map(e -> e.clip().speaker()).distinct().count(),
                used, trainLines.size(), evalLines.size(), refTarget[0], refTarget[1], skipped, encoded, encodedSeconds, encodeWall);
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

    private static void write(Path file, List<String> lines) throws IOException {
        io.higgs4j.trainer.data.AtomicFile.write(file, tmp -> Files.write(tmp, lines, StandardCharsets.UTF_8));
    }

    /** A speaker name as a folder name. */
    static String safe(String speaker) {
        String s = speaker.replaceAll("[^A-Za-z0-9._-]", "_");
        return s.isEmpty() || s.startsWith(".") ? "_" + s : s;
    }
}
