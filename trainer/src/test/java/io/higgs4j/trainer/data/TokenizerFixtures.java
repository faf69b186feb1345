package io.higgs4j.trainer.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes the two small Hugging Face tokenizer.json files the data pipeline is tested and demonstrated with:
 * a WordLevel model over a small English vocabulary (lower-cased; a Llama-like split where a word keeps its leading
 * space, so {@code "hello world"} is {@code hello}, {@code " world"}; {@code "\n\n"} is one token) plus the Higgs
 * special tokens as added special tokens.
 * <ul>
 *   <li>{@code src/test/resources/io/higgs4j/trainer/data/tokenizer.json}: special tokens at their real ids
 *       (128000 {@code <|begin_of_text|>} ... 128016 {@code <|AUDIO_OUT|>}), ordinary words below 1000;</li>
 *   <li>{@code src/main/resources/io/higgs4j/trainer/demo/tokenizer.json}: the {@code tiny} preset's tokenizer, the same
 *       words and the special tokens at real id - 127000 (1000 ... 1016).</li>
 * </ul>
 * Run {@code main} from the trainer module directory to regenerate them; {@link TextTokenizerTest} checks the
 * committed files are what this class writes.
 */
public final class TokenizerFixtures {

    /** The special tokens and their real (Llama-3 / Higgs) ids. */
    static final Map<String, Integer> SPECIAL = new LinkedHashMap<>();
    static {
        SPECIAL.put("<|begin_of_text|>", 128000);
        SPECIAL.put("<|end_of_text|>", 128001);
        SPECIAL.put("<|start_header_id|>", 128006);
        SPECIAL.put("<|end_header_id|>", 128007);
        SPECIAL.put("<|eom_id|>", 128008);
        SPECIAL.put("<|eot_id|>", 128009);
        SPECIAL.put("<|audio_bos|>", 128011);
        SPECIAL.put("<|audio_eos|>", 128012);
        SPECIAL.put("<|audio_out_bos|>", 128013);
        SPECIAL.put("<|AUDIO|>", 128015);
        SPECIAL.put("<|AUDIO_OUT|>", 128016);
    }

    /** Ordinary words; each gets an id for itself and one for its space-prefixed form. */
    static final List<String> WORDS = List.of(
            // the voice-cloning prompts
            "you", "are", "a", "helpful", "assistant", "capable", "of", "generating", "speech", "in", "the", "voice",
            "provided", "reference", "audio", "please", "generate", "for", "given", "text", "s",
            // demo sentences
            "and", "or", "to", "on", "at", "with", "from", "by", "is", "was", "were", "be", "it", "this", "that", "i",
            "we", "they", "he", "she", "my", "your", "our", "their", "his", "her", "hello", "world", "say", "said",
            "speak", "sound", "good", "morning", "evening", "night", "day", "today", "tomorrow", "time", "sun", "moon",
            "star", "sky", "sea", "river", "tree", "forest", "mountain", "city", "road", "house", "garden", "light",
            "dark", "red", "blue", "green", "yellow", "white", "black", "small", "big", "old", "new", "quick", "slow",
            "happy", "sad", "cold", "warm", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
            "ten", "cat", "dog", "bird", "fish", "horse", "music", "song", "story", "book", "letter", "word", "name",
            "friend", "family", "water", "fire", "wind", "rain", "snow", "stone", "bread", "milk", "tea", "coffee",
            "walk", "run", "sing", "read", "write", "listen", "look", "see", "hear", "come", "go", "stay", "open",
            "close", "yes", "no", "not", "very", "always", "never", "here", "there", "now", "then", "can", "will",
            "what", "how", "why", "where", "when", "who");

    static final List<String> PUNCTUATION = List.of(".", ",", "?", "!", ":", ";", "'", "-", "\"");

    private TokenizerFixtures() { }

    /** The tokenizer.json text with special tokens at real id - shift. */
    static String tokenizerJson(int shift) throws IOException {
        ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = m.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (Map.Entry<String, Integer> e : SPECIAL.entrySet()) {
            ObjectNode t = added.addObject();
            t.put("id", e.getValue() - shift);
            t.put("content", e.getKey());
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putObject("normalizer").put("type", "Lowercase");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Split");
        pre.putObject("pattern").put("Regex", " ?\\p{L}+| ?\\p{N}| ?[^\\s\\p{L}\\p{N}]+|\\s+");
        pre.put("behavior", "Isolated");
        pre.put("invert", false);
        root.putNull("post_processor");
        root.putObject("decoder").put("type", "Fuse");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode vocab = model.putObject("vocab");
        List<String> tokens = vocabulary();
        for (int id = 0; id < tokens.size(); id++) vocab.put(tokens.get(id), id);
        // The special tokens are also in the model's vocabulary, so that they keep these ids when loaded.
        for (Map.Entry<String, Integer> e : SPECIAL.entrySet()) vocab.put(e.getKey(), e.getValue() - shift);
        model.put("unk_token", "<unk>");
        return m.writeValueAsString(root) + "\n";
    }

    /** Ordinary tokens in id order, from 0. */
    static List<String> vocabulary() {
        List<String> v = new ArrayList<>(List.of("<unk>", "\n\n", "\n", " ", "system", "user", "assistant"));
        for (int d = 0; d <= 9; d++) {
            v.add(Integer.toString(d));
            v.add(" " + d);
        }
        for (String p : PUNCTUATION) {
            v.add(p);
            v.add(" " + p);
        }
        for (String w : WORDS) {
            v.add(w);
            v.add(" " + w);
        }
        List<String> unique = new ArrayList<>(new java.util.LinkedHashSet<>(v));
        if (unique.size() >= 1000) throw new IllegalStateException("the demo vocabulary must stay below id 1000");
        return unique;
    }

    static final Path FIXTURE = Path.of("src/test/resources/io/higgs4j/trainer/data/tokenizer.json");
    static final Path DEMO = Path.of("src/main/resources/io/higgs4j/trainer/demo/tokenizer.json");

    public static void main(String[] args) throws IOException {
        Files.writeString(FIXTURE, tokenizerJson(0), StandardCharsets.UTF_8);
        Files.writeString(DEMO, tokenizerJson(127000), StandardCharsets.UTF_8);
        System.out.println("wrote " + FIXTURE.toAbsolutePath() + " and " + DEMO.toAbsolutePath());
    }
}
