package io.higgs4j.trainer.prepare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The clips of the layouts people have, in a stable order:
 * <ul>
 *   <li>a folder of audio files (.wav, .flac, .mp3) each with a same-named .txt or .lab transcript; the speaker is the
 *       first sub-folder under the input (files directly in it: one speaker, named after the folder);</li>
 *   <li>an LJSpeech-style {@code metadata.csv} ({@code id|text[|normalized text]}, the normalized text preferred) with
 *       the audio in {@code wavs/ID.wav} (or .flac, .mp3) beside it: one speaker, named after its folder; given as the
 *       file or as a folder holding it;</li>
 *   <li>JSONL lines {@code {"audio": path, "text": ..., "speaker": ...}} (paths relative to the file; without
 *       "speaker", one speaker named after the file).</li>
 * </ul>
 * Problems of single clips are collected as {@link Skipped}; an input that is none of these is an error, and so is an
 * ambiguous one, with every case named: an id or audio file listed twice, a clip whose .txt and .lab transcripts
 * differ, or two audio files (x.wav, x.mp3) sharing one transcript.
 * <p>
 * A clip's name (its codes file's) is its file name's stem, with only the characters unsafe in file names replaced,
 * then a hash of the audio file's absolute path, size and modification time: so clips whose stems look alike
 * ({@code a b}, {@code a_b}) never share codes, and a re-run reuses codes only for the same, unchanged file.
 */
public final class ClipSources {

    static final List<String> AUDIO = List.of(".wav", ".flac", ".mp3");

    private ClipSources() { }

    public static List<Clip> read(Path input, List<Skipped> skipped) throws IOException {
        List<String> ambiguous = new ArrayList<>();
        List<Clip> clips;
        if (Files.isRegularFile(input)) {
            String n = input.getFileName().toString().toLowerCase(Locale.ROOT);
            if (n.endsWith(".csv")) clips = metadataCsv(input, skipped, ambiguous);
            else if (n.endsWith(".jsonl")) clips = jsonl(input, skipped, ambiguous);
            else throw new IllegalArgumentException("--input " + input + ": expected a folder, a metadata.csv or a .jsonl file");
        } else if (!Files.isDirectory(input)) {
            throw new IllegalArgumentException("--input " + input + " does not exist");
        } else if (Files.isRegularFile(input.resolve("metadata.csv"))) {
            clips = metadataCsv(input.resolve("metadata.csv"), skipped, ambiguous);
        } else {
            clips = folder(input, skipped, ambiguous);
        }
        // Every case at once, so that a large input is mended in one go rather than one error per run.
        if (!ambiguous.isEmpty()) {
            throw new IllegalArgumentException("--input " + input + " is ambiguous in " + ambiguous.size() + " place" + (ambiguous.size() > 1 ? "s" : "")
                    + " (nothing was encoded or written):\n  " + String.join("\n  ", ambiguous.subList(0, Math.min(20, ambiguous.size())))
                    + (ambiguous.size() > 20 ? "\n  ... and " + (ambiguous.size() - 20) + " more" : ""));
        }
        return clips;
    }

    static boolean isAudio(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return AUDIO.stream().anyMatch(n::endsWith);
    }

    static String stem(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }

    private static List<Clip> folder(Path dir, List<Skipped> skipped, List<String> ambiguous) throws IOException {
        List<Path> audio;
        try (Stream<Path> s = Files.walk(dir)) {
            audio = s.filter(p -> Files.isRegularFile(p) && isAudio(p)).sorted().toList();
        }
        if (audio.isEmpty()) throw new IllegalArgumentException("--input " + dir + " holds no .wav, .flac or .mp3 file (nor a metadata.csv)");
        String single = dir.toAbsolutePath().normalize().getFileName().toString();
        List<Clip> out = new ArrayList<>();
        Map<Path, Path> byStem = new HashMap<>();  // folder/stem -> the first audio file with it
        for (Path a : audio) {
            Path rel = dir.relativize(a);
            String speaker = rel.getNameCount() > 1 ? rel.getName(0).toString() : single;
            Path txt = a.resolveSibling(stem(a) + ".txt"), lab = a.resolveSibling(stem(a) + ".lab");
            Path first = byStem.putIfAbsent(a.resolveSibling(stem(a)), a);
            if (first != null) {
                // x.wav and x.mp3 would both take x.txt: most likely one recording twice, then its own reference
                ambiguous.add(first + " and " + a.getFileName() + " share one transcript (" + txt.getFileName() + " or "
                        + lab.getFileName() + "); keep one of them, or rename one with its own transcript");
                continue;
            }
            boolean hasTxt = Files.isRegularFile(txt), hasLab = Files.isRegularFile(lab);
            if (!hasTxt && !hasLab) {
                skipped.add(new Skipped(a.toString(), Skipped.Reason.NO_TRANSCRIPT, "no " + txt.getFileName() + " or " + lab.getFileName() + " beside it"));
                continue;
            }
            Path t = hasTxt ? txt : lab;
            String text = Files.readString(t, StandardCharsets.UTF_8).strip();
            if (hasTxt && hasLab && !text.equals(Files.readString(lab, StandardCharsets.UTF_8).strip())) {
                ambiguous.add(txt + " and " + lab.getFileName() + " are both transcripts of " + a.getFileName() + " and differ; keep the right one");
                continue;
            }
            if (text.isEmpty()) {
                skipped.add(new Skipped(a.toString(), Skipped.Reason.EMPTY_TRANSCRIPT, t + " is empty"));
                continue;
            }
            out.add(new Clip(a, text, speaker, codesName(a)));
        }
        return out;
    }

    private static List<Clip> metadataCsv(Path csv, List<Skipped> skipped, List<String> ambiguous) throws IOException {
        Path base = csv.toAbsolutePath().getParent();
        String speaker = base.getFileName().toString();
        List<Clip> out = new ArrayList<>();
        Map<String, Integer> lineOfId = new HashMap<>();
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) continue;
            String where = csv + " line " + (i + 1);
            String[] f = line.split("\\|", -1);
            if (f.length < 2 || f.length > 3 || f[0].isBlank()) {
                skipped.add(new Skipped(where, Skipped.Reason.BAD_LINE, "expected id|text[|normalized text], got " + f.length + " fields"));
                continue;
            }
            String id = f[0].strip();
            Integer firstLine = lineOfId.putIfAbsent(id, i + 1);
            if (firstLine != null) {
                ambiguous.add(csv + ": id " + id + " is on line " + firstLine + " and again on line " + (i + 1) + "; keep one");
                continue;
            }
            String text = (f.length == 3 && !f[2].isBlank() ? f[2] : f[1]).strip();
            List<Path> found = new ArrayList<>();
            for (String ext : AUDIO) {
                Path p = base.resolve("wavs").resolve(id + ext);
                if (Files.isRegularFile(p)) found.add(p);
            }
            if (found.size() > 1) {
                ambiguous.add(where + ": id " + id + " has " + found.size() + " audio files ("
                        + String.join(", ", found.stream().map(p -> "wavs/" + p.getFileName()).toList()) + "); keep one");
            } else if (found.isEmpty()) {
                skipped.add(new Skipped(where, Skipped.Reason.MISSING_AUDIO, "no wavs/" + id + ".wav (.flac, .mp3) beside " + csv.getFileName()));
            } else if (text.isEmpty()) {
                skipped.add(new Skipped(where, Skipped.Reason.EMPTY_TRANSCRIPT, "the text of " + id + " is empty"));
            } else {
                out.add(new Clip(found.getFirst(), text, speaker, codesName(found.getFirst())));
            }
        }
        return out;
    }

    private static List<Clip> jsonl(Path file, List<Skipped> skipped, List<String> ambiguous) throws IOException {
        Path base = file.toAbsolutePath().getParent();
        String single = stem(file);
        ObjectMapper json = new ObjectMapper();
        List<Clip> out = new ArrayList<>();
        Map<Path, Integer> lineOfAudio = new HashMap<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            String where = file + " line " + (i + 1);
            JsonNode n;
            try {
                n = json.readTree(lines.get(i));
            } catch (IOException e) {
                skipped.add(new Skipped(where, Skipped.Reason.BAD_LINE, "not valid JSON: " + e.getMessage().lines().findFirst().orElse("")));
                continue;
            }
            if (n == null || !n.isObject() || !n.path("audio").isTextual() || !n.path("text").isTextual()
                    || (n.has("speaker") && !n.get("speaker").isTextual())) {
                skipped.add(new Skipped(where, Skipped.Reason.BAD_LINE, "expected {\"audio\": path, \"text\": string, \"speaker\"?: string}"));
                continue;
            }
            Path audio = base.resolve(n.get("audio").asText()).normalize();
            String text = n.get("text").asText().strip(), speaker = n.has("speaker") ? n.get("speaker").asText() : single;
            Integer firstLine = lineOfAudio.putIfAbsent(audio, i + 1);
            if (firstLine != null) {
                // one recording as two clips: a sample could take it as its own reference
                ambiguous.add(file + ": lines " + firstLine + " and " + (i + 1) + " both name the audio " + audio + "; keep one");
            } else if (!Files.isRegularFile(audio)) {
                skipped.add(new Skipped(where, Skipped.Reason.MISSING_AUDIO, audio + " does not exist"));
            } else if (text.isEmpty()) {
                skipped.add(new Skipped(where, Skipped.Reason.EMPTY_TRANSCRIPT, "\"text\" is empty"));
            } else {
                out.add(new Clip(audio, text, speaker, codesName(audio)));
            }
        }
        return out;
    }

    /**
     * The name of a clip's codes file (without .codes.npy): the audio's stem made safe, then 8 hex digits of the
     * SHA-256 of its absolute path, size and modification time. Unique per file (a stem alone is not: {@code a b} and
     * {@code a_b}, or two stems in another script, once became the same name), the same on every run while the file
     * is unchanged, and different once it is moved or rewritten, so stale codes are never taken for its own.
     */
    static String codesName(Path audio) throws IOException {
        Path abs = audio.toAbsolutePath().normalize();
        String key = abs + "\n" + Files.size(abs) + "\n" + Files.getLastModifiedTime(abs).toMillis();
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return safeName(stem(abs)) + "-" + HexFormat.of().formatHex(h, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    /**
     * A name as a file or folder name: letters and digits of every script stay, as do spaces and most punctuation;
     * only what file systems refuse or hide is replaced by _ (path separators, {@code :*?"<>|}, control and invisible
     * format characters, a leading dot or dash), and it is cut to 150 bytes of UTF-8 (file names allow 255).
     */
    public static String safeName(String name) {
        String s = name.replaceAll("[\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}/\\\\:*?\"<>|]", "_");
        if (s.isEmpty() || s.startsWith(".") || s.startsWith("-")) s = "_" + s;
        while (s.getBytes(StandardCharsets.UTF_8).length > 150) s = s.substring(0, s.offsetByCodePoints(s.length(), -1));
        return s;
    }
}
