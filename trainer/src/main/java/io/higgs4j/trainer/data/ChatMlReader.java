package io.higgs4j.trainer.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.trainer.data.ChatMlSample.Audio;
import io.higgs4j.trainer.data.ChatMlSample.Content;
import io.higgs4j.trainer.data.ChatMlSample.Message;
import io.higgs4j.trainer.data.ChatMlSample.Role;
import io.higgs4j.trainer.data.ChatMlSample.Text;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Reads ChatML data (docs/MODEL.md section 7) from a JSON array file, a JSONL file (one sample per line; blank lines are
 * skipped), a file holding one sample object, or a directory (every {@code *.json} and {@code *.jsonl} in it, by
 * name). A sample that cannot be parsed or has the wrong structure becomes a {@link Failure}; the reader never
 * throws for a bad sample. A JSON array file that is not valid JSON as a whole is an error naming where.
 *
 * <p>Two shapes are read:
 * <ul>
 *   <li>general multi-turn ChatML: {@code {"messages": [{"role", "content"}, ...], "start_index"?, "speaker"?, "misc"?}};</li>
 *   <li>the reference/target voice-cloning shape: an optional system message, then exactly one user message whose
 *       content list holds one text (the reference transcript) and one audio (the reference audio), and one
 *       assistant message whose list holds one text (the target text) and one audio (the target audio). It is turned
 *       into system (the sample's own system message, or {@link #VOICE_CLONING_SYSTEM_PROMPT}) / user (reference
 *       text, reference audio, {@link #VOICE_CLONING_REQUEST} + target text) / assistant (target audio).
 *       A {@code start_index} is moved with its message.</li>
 * </ul>
 */
public final class ChatMlReader {

    private static final Logger LOG = LoggerFactory.getLogger(ChatMlReader.class);

    public static final String VOICE_CLONING_SYSTEM_PROMPT =
            "You are a helpful assistant capable of generating speech in the voice of the provided reference audio.";
    public static final String VOICE_CLONING_REQUEST = "Please generate speech for given text in reference audio's voice: ";

    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private ChatMlReader() { }

    /** The samples of a data path and its samples that failed, in file order. */
    public record Result(List<ChatMlSample> samples, List<Failure> failures) {
        public int total() {
            return samples.size() + failures.size();
        }
    }

    /** A sample that could not be read: reason {@link Reason#UNPARSEABLE} or {@link Reason#BAD_STRUCTURE}. */
    public record Failure(String id, Reason reason, String message) { }

    /** A structural problem of one sample; the message says which field. */
    static final class StructureException extends Exception {
        StructureException(String message) { super(message); }
    }

    /** The samples of a path with voice-cloning samples in this project's layout ({@link PromptLayout#TRAIN}). */
    public static Result read(Path path) throws IOException {
        return read(path, PromptLayout.TRAIN);
    }

    /** The samples of a path, voice-cloning samples laid out as layout says. */
    public static Result read(Path path, PromptLayout layout) throws IOException {
        Result raw = readRaw(path);
        return new Result(raw.samples().stream().map(s -> voiceCloning(s, layout)).toList(), raw.failures());
    }

    /**
     * The samples of JSONL lines not yet written to file: read as if they were its content (ids "NAME line N", paths
     * relative to its folder), so that data can be checked before it is written.
     */
    public static Result readLines(Path file, List<String> lines, PromptLayout layout) {
        Path base = file.toAbsolutePath().getParent();
        String name = file.getFileName().toString();
        List<ChatMlSample> samples = new ArrayList<>();
        List<Failure> failures = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).isBlank()) addLine(lines.get(i), name + " line " + (i + 1), base, samples, failures);
        }
        return new Result(samples.stream().map(s -> voiceCloning(s, layout)).toList(), failures);
    }

    private static Result readRaw(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            List<Path> files;
            try (Stream<Path> s = Files.list(path)) {
                files = s.filter(p -> Files.isRegularFile(p) && (p.toString().endsWith(".json") || p.toString().endsWith(".jsonl")))
                        .sorted().toList();
            }
            if (files.isEmpty()) throw new DataException("data directory " + path + " holds no .json or .jsonl file");
            // prepare-data's output: its eval.jsonl would be trained on and its report.json read as samples
            if (Files.isRegularFile(path.resolve("train.jsonl")) && Files.isRegularFile(path.resolve("report.json"))) {
                throw new DataException("data directory " + path + " is prepare-data's output (train.jsonl, report.json): give --data_path "
                        + path.resolve("train.jsonl") + (Files.isRegularFile(path.resolve("eval.jsonl"))
                        ? " and --eval_data_path " + path.resolve("eval.jsonl") : ""));
            }
            List<Path> nested;
            try (Stream<Path> s = Files.walk(path)) {
                nested = s.filter(p -> !p.getParent().equals(path) && Files.isRegularFile(p)
                        && (p.toString().endsWith(".json") || p.toString().endsWith(".jsonl"))).sorted().toList();
            }
            if (!nested.isEmpty()) {
                LOG.warn("data directory {}: only its own .json and .jsonl files are read, not the {} in its subfolders ({}{})", path,
                        nested.size(), path.relativize(nested.getFirst()), nested.size() > 1 ? ", ..." : "");
            }
            List<ChatMlSample> samples = new ArrayList<>();
            List<Failure> failures = new ArrayList<>();
            for (Path f : files) {
                Result r = readFile(f);
                samples.addAll(r.samples());
                failures.addAll(r.failures());
            }
            return new Result(samples, failures);
        }
        if (!Files.isRegularFile(path)) throw new DataException("data file " + path + " does not exist");
        return readFile(path);
    }

    private static Result readFile(Path file) throws IOException {
        Path base = file.toAbsolutePath().getParent();
        String name = file.getFileName().toString();
        List<ChatMlSample> samples = new ArrayList<>();
        List<Failure> failures = new ArrayList<>();
        String first = firstNonBlankChar(file);
        if (first == null) throw new DataException("data file " + file + " is empty");
        boolean jsonl = name.endsWith(".jsonl");
        if (!jsonl && first.equals("[")) {
            JsonNode root;
            try {
                root = JSON.readTree(file.toFile());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new DataException("data file " + file + " is not valid JSON (a JSON array was expected, or use JSONL): "
                        + jsonMessage(e) + (e.getLocation() == null ? ""
                        : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr()));
            }
            for (int i = 0; i < root.size(); i++) add(root.get(i), name + " [" + i + "]", base, samples, failures);
            return new Result(samples, failures);
        }
        if (!jsonl) {
            // One object, or JSONL under another extension.
            try {
                JsonNode one = JSON.readTree(file.toFile());
                if (one != null && one.isObject()) {
                    add(one, name, base, samples, failures);
                    return new Result(samples, failures);
                }
            } catch (IOException e) {
                // not one JSON value: read it as JSONL
            }
        }
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int n = 0;
            while ((line = in.readLine()) != null) {
                n++;
                if (n == 1 && line.startsWith("\uFEFF")) line = line.substring(1);
                if (!line.isBlank()) addLine(line, name + " line " + n, base, samples, failures);
            }
        } catch (java.nio.charset.CharacterCodingException e) {
            throw notText(file);
        }
        return new Result(samples, failures);
    }

    /** One JSONL line's sample, or its failure: a line that is not JSON says where it breaks. */
    private static void addLine(String line, String id, Path base, List<ChatMlSample> samples, List<Failure> failures) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            failures.add(new Failure(id, Reason.UNPARSEABLE, "not valid JSON: " + jsonMessage(e)
                    + (e.getLocation() == null ? "" : " at column " + e.getLocation().getColumnNr())));
            return;
        }
        add(node, id, base, samples, failures);
    }

    /** A file that is not UTF-8 text (a binary file given by mistake, or text in another encoding). */
    private static DataException notText(Path file) throws IOException {
        return new DataException("data file " + file + " is not UTF-8 text: invalid bytes on line " + firstBadLine(file)
                + " (ChatML data is JSON or JSONL in UTF-8)");
    }

    /**
     * The line (from 1) holding the first bytes that are not UTF-8. Found line by line, as the reader decodes whole
     * buffers ahead of the line it returns; a newline byte never occurs inside a UTF-8 sequence, so lines split safely.
     */
    private static long firstBadLine(Path file) throws IOException {
        long line = 1;
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (var in = new java.io.BufferedInputStream(Files.newInputStream(file))) {
            for (int b = in.read(); ; b = in.read()) {
                if (b == '\n' || b == -1) {
                    try {
                        StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes.toByteArray()));
                    } catch (java.nio.charset.CharacterCodingException e) {
                        return line;
                    }
                    if (b == -1) return line;
                    line++;
                    bytes.reset();
                } else {
                    bytes.write(b);
                }
            }
        }
    }

    /** Jackson's message without its source description. */
    private static String jsonMessage(com.fasterxml.jackson.core.JsonProcessingException e) {
        return e.getOriginalMessage().replaceAll("\\[Source: [^;\\]]*; ", "[");
    }

    private static String firstNonBlankChar(Path file) throws IOException {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int c;
            while ((c = in.read()) != -1) {
                if (c == '\uFEFF' || Character.isWhitespace(c)) continue;
                return Character.toString(c);
            }
            return null;
        } catch (java.nio.charset.CharacterCodingException e) {
            throw notText(file);
        }
    }

    private static void add(JsonNode node, String id, Path base, List<ChatMlSample> samples, List<Failure> failures) {
        try {
            samples.add(parse(node, id, base));
        } catch (StructureException e) {
            failures.add(new Failure(id, Reason.BAD_STRUCTURE, e.getMessage()));
        }
    }

    /** Parses one sample object (either shape). */
    static ChatMlSample parse(JsonNode node, String id, Path base) throws StructureException {
        if (node == null || !node.isObject()) throw new StructureException("a sample must be a JSON object, got " + kind(node));
        JsonNode msgs = node.get("messages");
        if (msgs == null || msgs.isNull()) throw new StructureException("no \"messages\" field");
        if (!msgs.isArray()) throw new StructureException("\"messages\" must be a list, got " + kind(msgs));
        if (msgs.isEmpty()) throw new StructureException("\"messages\" is empty");
        List<Message> messages = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) messages.add(message(msgs.get(i), i));
        Integer startIndex = null;
        JsonNode si = node.get("start_index");
        if (si != null && !si.isNull()) {
            if (!si.canConvertToExactIntegral() || !si.canConvertToInt()) throw new StructureException("\"start_index\" must be an integer, got " + si);
            startIndex = si.asInt();
            if (startIndex < 0) throw new StructureException("\"start_index\" must be >= 0, got " + startIndex);
        }
        String speaker = null;
        JsonNode sp = node.get("speaker");
        if (sp != null && !sp.isNull()) {
            if (!sp.isTextual()) throw new StructureException("\"speaker\" must be a string, got " + kind(sp));
            speaker = sp.asText();
        }
        JsonNode misc = node.get("misc");
        if (misc != null && !misc.isNull() && !misc.isObject()) throw new StructureException("\"misc\" must be an object, got " + kind(misc));
        JsonNode miscSpeaker = misc == null ? null : misc.get("speaker");
        if (miscSpeaker != null && !miscSpeaker.isNull()) {
            if (!miscSpeaker.isTextual()) throw new StructureException("\"misc.speaker\" must be a string, got " + kind(miscSpeaker));
            if (speaker == null) speaker = miscSpeaker.asText();
        }
        return new ChatMlSample(id, base, messages, startIndex, speaker, misc);
    }

    private static Message message(JsonNode m, int i) throws StructureException {
        String where = "message " + i;
        if (m == null || !m.isObject()) throw new StructureException(where + " must be an object, got " + kind(m));
        JsonNode r = m.get("role");
        if (r == null || !r.isTextual()) throw new StructureException(where + " has no \"role\" string");
        Role role = switch (r.asText()) {
            case "system" -> Role.SYSTEM;
            case "user" -> Role.USER;
            case "assistant" -> Role.ASSISTANT;
            default -> throw new StructureException(where + " has role '" + r.asText() + "'; expected system, user or assistant");
        };
        JsonNode c = m.get("content");
        if (c == null || c.isNull()) throw new StructureException(where + " (" + r.asText() + ") has no \"content\"");
        List<Content> content = new ArrayList<>();
        if (c.isTextual()) {
            content.add(new Text(c.asText()));
        } else if (c.isObject()) {
            content.add(content(c, where));
        } else if (c.isArray()) {
            if (c.isEmpty()) throw new StructureException(where + " has an empty \"content\" list");
            for (int j = 0; j < c.size(); j++) content.add(content(c.get(j), where + " content " + j));
        } else {
            throw new StructureException(where + " \"content\" must be a string, an object or a list, got " + kind(c));
        }
        return new Message(role, content);
    }

    private static Content content(JsonNode c, String where) throws StructureException {
        if (c == null || !c.isObject()) throw new StructureException(where + " must be an object, got " + kind(c));
        JsonNode type = c.get("type");
        if (type == null || !type.isTextual()) throw new StructureException(where + " has no \"type\" string");
        switch (type.asText()) {
            case "text" -> {
                JsonNode t = c.get("text");
                if (t == null || !t.isTextual()) throw new StructureException(where + " (text) has no \"text\" string");
                return new Text(t.asText());
            }
            case "audio" -> {
                String url = optionalString(c, "audio_url", where);
                String codes = optionalString(c, "audio_codes", where);
                String raw = optionalString(c, "raw_audio", where);
                boolean hasRaw = raw != null && !raw.isEmpty();
                if (url != null && url.isEmpty()) url = null;
                if (codes != null && codes.isEmpty()) codes = null;
                if (url == null && codes == null && !hasRaw) {
                    throw new StructureException(where + " (audio) has none of \"audio_url\", \"audio_codes\", \"raw_audio\"");
                }
                Double offset = optionalSeconds(c, "offset", where);
                Double duration = optionalSeconds(c, "duration", where);
                return new Audio(url, codes, hasRaw, offset, duration);
            }
            default -> throw new StructureException(where + " has type '" + type.asText() + "'; expected text or audio");
        }
    }

    private static String optionalString(JsonNode c, String field, String where) throws StructureException {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw new StructureException(where + " \"" + field + "\" must be a string, got " + kind(v));
        return v.asText();
    }

    private static Double optionalSeconds(JsonNode c, String field, String where) throws StructureException {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isNumber() || v.asDouble() < 0 || !Double.isFinite(v.asDouble())) {
            throw new StructureException(where + " \"" + field + "\" must be a number of seconds >= 0, got " + v);
        }
        return v.asDouble();
    }

    private static String kind(JsonNode n) {
        if (n == null || n.isNull()) return "null";
        if (n.isTextual()) return "a string";
        if (n.isNumber()) return "a number";
        if (n.isBoolean()) return "a boolean";
        if (n.isArray()) return "a list";
        return "an object";
    }

    /** The reference/target voice-cloning shape laid out as layout says ({@link PromptLayout}); any other sample as it is. */
    public static ChatMlSample voiceCloning(ChatMlSample s, PromptLayout layout) {
        List<Message> ms = s.messages();
        int off = !ms.isEmpty() && ms.getFirst().role() == Role.SYSTEM ? 1 : 0;
        if (ms.size() != off + 2) return s;
        Message user = ms.get(off), assistant = ms.get(off + 1);
        if (user.role() != Role.USER || assistant.role() != Role.ASSISTANT) return s;
        Text refText = only(user, Text.class), targetText = only(assistant, Text.class);
        Audio refAudio = only(user, Audio.class), targetAudio = only(assistant, Audio.class);
        if (user.content().size() != 2 || assistant.content().size() != 2
                || refText == null || refAudio == null || targetText == null || targetAudio == null) {
            return s;
        }
        List<Message> out = new ArrayList<>();
        Integer start;
        if (layout == PromptLayout.OFFICIAL) {
            if (off == 1) out.add(ms.getFirst());
            out.add(new Message(Role.USER, List.of(refText)));
            out.add(new Message(Role.ASSISTANT, List.of(refAudio)));
            out.add(new Message(Role.USER, List.of(targetText)));
            out.add(new Message(Role.ASSISTANT, List.of(targetAudio)));
            // The reference turn is context, never trained on: supervision starts at the target turn (or stays off
            // when the sample's own start_index left its assistant turn unsupervised).
            int target = out.size() - 1;
            start = s.startIndex() == null || s.startIndex() <= off + 1 ? target : target + 1;
        } else {
            out.add(off == 1 ? ms.getFirst() : new Message(Role.SYSTEM, List.of(new Text(VOICE_CLONING_SYSTEM_PROMPT))));
            out.add(new Message(Role.USER, List.of(refText, refAudio, new Text(VOICE_CLONING_REQUEST + targetText.text()))));
            out.add(new Message(Role.ASSISTANT, List.of(targetAudio)));
            start = s.startIndex() == null ? null : s.startIndex() + (1 - off);
        }
        return new ChatMlSample(s.id(), s.baseDir(), out, start, s.speaker(), s.misc());
    }

    private static <T extends Content> T only(Message m, Class<T> type) {
        T found = null;
        for (Content c : m.content()) {
            if (type.isInstance(c)) {
                if (found != null) return null;
                found = type.cast(c);
            }
        }
        return found;
    }
}
