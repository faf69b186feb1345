package io.higgs4j.trainer.data;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.higgs.HiggsAudioConfig;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The text tokenizer: a Hugging Face {@code tokenizer.json} (through DJL's tokenizers binding) with the Higgs special
 * tokens looked up. (Audio is tokenized by the audio codec, {@code --audio_tokenizer_path}, not here.)
 * {@link #encode} adds no special token of its own (no BOS): special tokens written in the text (such as
 * {@code <|eot_id|>}) are recognised as single tokens. Needs {@code --enable-native-access=ALL-UNNAMED}.
 */
public final class TextTokenizer implements AutoCloseable {

    /** The tokenizer of the {@code tiny} preset (special tokens at 1000..1016), in the trainer jar. */
    public static final String DEMO_RESOURCE = "/io/higgs4j/trainer/demo/tokenizer.json";

    static {
        // The tokenizers jar from Maven Central carries CPU builds only; on a CUDA machine DJL would otherwise look for
        // a CUDA flavour and try to download it. Both settings can still be overridden from the command line.
        if (System.getProperty("RUST_FLAVOR") == null && System.getenv("RUST_FLAVOR") == null) System.setProperty("RUST_FLAVOR", "cpu");
        if (System.getProperty("ai.djl.offline") == null) System.setProperty("ai.djl.offline", "true");
        // DJL detects the platform by loading the system's libcudart through JNA and querying it in this process: a
        // second CUDA runtime beside libtorch's own, after which libtorch's first CUDA kernel fails with "invalid
        // resource handle" (seen on an H200 with torch 2.11+cu130 and /usr/local/cuda-13.0). Forked, DJL asks a child JVM.
        if (System.getProperty("ai.djl.util.cuda.fork") == null) System.setProperty("ai.djl.util.cuda.fork", "true");
    }

    private static final Map<String, String> OPTIONS = Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");

    /** A tokenizer that cannot be loaded, lacks a special token, or disagrees with the model config. */
    public static final class TokenizerException extends IllegalArgumentException {
        public TokenizerException(String message) { super(message); }
    }

    /** The ids of the special tokens of docs/MODEL.md sections 1 and 7; pad is the tokenizer's pad (else eos) token. */
    public record SpecialTokens(long beginOfText, long endOfText, long startHeader, long endHeader, long eom, long eot,
                                long audioBos, long audioEos, long audioOutBos, long audio, long audioOut, String padToken, long pad) { }

    private final HuggingFaceTokenizer hf;
    private final String source;
    private final SpecialTokens special;
    private final Map<String, long[]> cache = new ConcurrentHashMap<>();

    private TextTokenizer(HuggingFaceTokenizer hf, String source, String padToken) {
        this.hf = hf;
        this.source = source;
        try {
            this.special = new SpecialTokens(tokenId("<|begin_of_text|>"), tokenId("<|end_of_text|>"), tokenId("<|start_header_id|>"),
                    tokenId("<|end_header_id|>"), tokenId("<|eom_id|>"), tokenId("<|eot_id|>"), tokenId("<|audio_bos|>"),
                    tokenId("<|audio_eos|>"), tokenId("<|audio_out_bos|>"), tokenId("<|AUDIO|>"), tokenId("<|AUDIO_OUT|>"),
                    padToken, tokenId(padToken));
        } catch (RuntimeException e) {
            hf.close();
            throw e;
        }
    }

    /** Loads a tokenizer.json, or the tokenizer.json of a model directory. */
    public static TextTokenizer load(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        if (!Files.isRegularFile(file)) throw new TokenizerException("no tokenizer.json at " + file);
        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.newInstance(file, OPTIONS);
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException("cannot load tokenizer " + file + ": " + e.getMessage());
        }
        return new TextTokenizer(hf, file.toString(), padToken(file.toAbsolutePath().getParent()));
    }

    /** The demo tokenizer of the {@code tiny} preset, from the trainer jar. */
    public static TextTokenizer demo() {
        try (InputStream in = TextTokenizer.class.getResourceAsStream(DEMO_RESOURCE)) {
            if (in == null) throw new TokenizerException("the demo tokenizer " + DEMO_RESOURCE + " is missing from the trainer jar");
            return new TextTokenizer(HuggingFaceTokenizer.newInstance(in, OPTIONS), "demo tokenizer (tiny preset)", "<|end_of_text|>");
        } catch (IOException e) {
            throw new TokenizerException("cannot load the demo tokenizer: " + e.getMessage());
        }
    }

    /**
     * The tokenizer for a model: {@code tokenizer} if given (a tokenizer.json or a directory holding one); else the
     * model directory's tokenizer.json; else, for a config given as a file or directory, the tokenizer.json beside it;
     * else the demo tokenizer for the {@code tiny} preset.
     */
    public static TextTokenizer resolve(String configOrPreset, Path modelPath, Path tokenizer) {
        if (tokenizer != null) return load(tokenizer);
        if (modelPath != null) return load(modelPath);
        if (configOrPreset == null) throw new TokenizerException("no tokenizer: give --model_path, --tokenizer or --config");
        if (configOrPreset.equals("tiny")) return demo();
        if (HiggsAudioConfig.PRESETS.contains(configOrPreset)) {
            throw new TokenizerException("the '" + configOrPreset + "' preset has no built-in tokenizer; give --tokenizer");
        }
        Path p = Path.of(configOrPreset);
        Path dir = Files.isDirectory(p) ? p : p.toAbsolutePath().getParent();
        if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            throw new TokenizerException("no tokenizer.json beside the config " + p + "; give --tokenizer");
        }
        return load(dir);
    }

    /** pad_token of tokenizer_config.json or special_tokens_map.json, else their eos_token, else {@code <|end_of_text|>}. */
    static String padToken(Path dir) {
        for (String key : List.of("pad_token", "eos_token")) {
            for (String f : List.of("tokenizer_config.json", "special_tokens_map.json")) {
                Path p = dir.resolve(f);
                if (!Files.isRegularFile(p)) continue;
                try {
                    JsonNode v = new ObjectMapper().readTree(p.toFile()).path(key);
                    if (v.isObject()) v = v.path("content");
                    if (v.isTextual() && !v.asText().isEmpty()) return v.asText();
                } catch (IOException e) {
                    throw new TokenizerException(p + " is not valid JSON: " + io.higgs4j.json.JsonFields.syntaxError(e));
                }
            }
        }
        return "<|end_of_text|>";
    }

    /** The ids of text, with no special token added. */
    public long[] encode(String text) {
        Encoding e = hf.encode(text, false, false);
        return e.getIds();
    }

    /** {@link #encode}, cached: for the few fixed strings of the chat template. */
    long[] encodeCached(String text) {
        return cache.computeIfAbsent(text, this::encode).clone();
    }

    public String decode(long[] ids) {
        return hf.decode(ids, false);
    }

    /** The id of a token the tokenizer keeps whole (a special token); an error naming it otherwise. */
    public long tokenId(String token) {
        Encoding e = hf.encode(token, false, false);
        if (e.getIds().length != 1 || !e.getTokens()[0].equals(token)) {
            throw new TokenizerException("tokenizer " + source + " has no token " + token + " (it splits it into "
                    + List.of(e.getTokens()) + ")");
        }
        return e.getIds()[0];
    }

    public SpecialTokens specialTokens() {
        return special;
    }

    public String source() {
        return source;
    }

    /** Checks that the tokenizer's audio and pad token ids are the model config's; the error lists every mismatch. */
    public void checkCompatible(HiggsAudioConfig config) {
        List<String> bad = new ArrayList<>();
        check(bad, "<|AUDIO|>", special.audio(), "audio_in_token_idx", config.audioInTokenIdx());
        check(bad, "<|AUDIO_OUT|>", special.audioOut(), "audio_out_token_idx", config.audioOutTokenIdx());
        check(bad, "<|audio_out_bos|>", special.audioOutBos(), "audio_out_bos_token_id", config.audioOutBosTokenId());
        check(bad, "<|audio_eos|>", special.audioEos(), "audio_eos_token_id", config.audioEosTokenId());
        check(bad, special.padToken() + " (pad token)", special.pad(), "pad_token_id", config.padTokenId());
        long vocab = config.textConfig().vocabSize();
        for (long id : new long[] {special.beginOfText(), special.endOfText(), special.startHeader(), special.endHeader(), special.eom(),
                special.eot(), special.audioBos(), special.audioEos(), special.audioOutBos(), special.audio(), special.audioOut()}) {
            if (id >= vocab) {
                bad.add("special token id " + id + " is outside the model's text vocabulary (text_config.vocab_size " + vocab + ")");
                break;
            }
        }
        if (!bad.isEmpty()) {
            throw new TokenizerException("tokenizer " + source + " does not match the model config: " + String.join("; ", bad));
        }
    }

    private static void check(List<String> bad, String token, long tokenizerId, String key, long configId) {
        if (tokenizerId != configId) bad.add(token + " is " + tokenizerId + " in the tokenizer but " + key + " is " + configId);
    }

    @Override
    public void close() {
        hf.close();
    }
}
