package io.higgs4j.trainer.prepare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
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
 * Problems of single clips are collected as {@link Skipped}; an input that is none of these is an error.
 */
public final class ClipSources {

    static final List<String> AUDIO = List.of(".wav", ".flac", ".mp3");

    private ClipSources() { }

    public static List<Clip> read(Path input, List<Skipped> skipped) throws IOException {
        if (Files.isRegularFile(input)) {
            String n = input.getFileName().toString().toLowerCase(Locale.ROOT);
            if (n.endsWith(".csv")) return metadataCsv(input, skipped);
            if (n.endsWith(".jsonl")) return jsonl(input, skipped);
            throw new IllegalArgumentException("--input " + input + ": expected a folder, a metadata.csv or a .jsonl file");
        }
        if (!Files.isDirectory(input)) throw new IllegalArgumentException("--input " + input + " does not exist");
        if (Files.isRegularFile(input.resolve("metadata.csv"))) return metadataCsv(input.resolve("metadata.csv"), skipped);
        return folder(input, skipped);
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

    private static List<Clip> folder(Path dir, List<Skipped> skipped) throws IOException {
        List<Path> audio;
        try (Stream<Path> s = Files.walk(dir)) {
            audio = s.filter(p -> Files.isRegularFile(p) && isAudio(p)).sorted().toList();
        }
        if (audio.isEmpty()) throw new IllegalArgumentException("--input " + dir + " holds no .wav, .flac or .mp3 file (nor a metadata.csv)");
        String single = dir.toAbsolutePath().normalize().getFileName().toString();
        List<Clip> out = new ArrayList<>();
        Names names = new Names();
        for (Path a : audio) {
            Path rel = dir.relativize(a);
            String speaker = rel.getNameCount() > 1 ? rel.getName(0).toString() : single;
            Path txt = a.resolveSibling(stem(a) + ".txt"), lab = a.resolveSibling(stem(a) + ".lab");
            Path t = Files.isRegularFile(txt) ? txt : Files.isRegularFile(lab) ? lab : null;
            if (t == null) {
                skipped.add(new Skipped(a.toString(), Skipped.Reason.NO_TRANSCRIPT, "no " + txt.getFileName() + " or " + lab.getFileName() + " beside it"));
                continue;
            }
            String text = Files.readString(t, StandardCharsets.UTF_8).strip();
            if (text.isEmpty()) {
                skipped.add(new Skipped(a.toString(), Skipped.Reason.EMPTY_TRANSCRIPT, t + " is empty"));
                continue;
            }
            out.add(new Clip(a, text, speaker, names.unique(speaker, stem(a))));
        }
        return out;
    }

    private static List<Clip> metadataCsv(Path csv, List<Skipped> skipped) throws IOException {
        Path base = csv.toAbsolutePath().getParent();
        String speaker = base.getFileName().toString();
        List<Clip> out = new ArrayList<>();
        Names names = new Names();
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
            String text = (f.length == 3 && !f[2].isBlank() ? f[2] : f[1]).strip();
            Path audio = null;
            for (String ext : AUDIO) {
                Path p = base.resolve("wavs").resolve(f[0].strip() + ext);
                if (Files.isRegularFile(p)) audio = p;
            }
            if (audio == null) {
                skipped.add(new Skipped(where, Skipped.Reason.MISSING_AUDIO, "no wavs/" + f[0].strip() + ".wav (.flac, .mp3) beside " + csv.getFileName()));
            } else if (text.isEmpty()) {
                skipped.add(new Skipped(where, Skipped.Reason.EMPTY_TRANSCRIPT, "the text of " + f[0].strip() + " is empty"));
            } else {
                out.add(new Clip(audio, text, speaker, names.unique(speaker, f[0].strip())));
            }
        }
        return out;
    }

    private static List<Clip> jsonl(Path file, List<Skipped> skipped) throws IOException {
        Path base = file.toAbsolutePath().getParent();
        String single = stem(file);
        ObjectMapper json = new ObjectMapper();
        List<Clip> out = new ArrayList<>();
        Names names = new Names();
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
            if (!Files.isRegularFile(audio)) {
                skipped.add(new Skipped(where, Skipped.Reason.MISSING_AUDIO, audio + " does not exist"));
            } else if (text.isEmpty()) {
                skipped.add(new Skipped(where, Skipped.Reason.EMPTY_TRANSCRIPT, "\"text\" is empty"));
            } else {
                out.add(new Clip(audio, text, speaker, names.unique(speaker, stem(audio))));
            }
        }
        return out;
    }

    /** Names unique within a speaker: a repeated stem gets -2, -3, ... in input order (stable across runs). */
    private static final class Names {
        private final Map<String, Integer> seen = new HashMap<>();

        String unique(String speaker, String stem) {
            String safe = stem.replaceAll("[^A-Za-z0-9._-]", "_");
            int n = seen.merge(speaker + "/" + safe, 1, Integer::sum);
            return n == 1 ? safe : safe + "-" + n;
        }
    }
}
