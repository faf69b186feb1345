package io.higgs4j.trainer.generate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.higgs.GenerationConfig;
import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioGenerator;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.tokenizer.AudioTokenizerLoader;
import io.higgs4j.tokenizer.HiggsAudioTokenizer;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.trainer.data.AudioCodes;
import io.higgs4j.trainer.data.TextTokenizer;
import io.higgs4j.trainer.data.PromptLayout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Listening while training: prompts (JSONL, one per line) whose audio is generated with the model as it is at a
 * step, into {@code samples/step-N/NAME.codes.npy} (and {@code NAME.wav} with an audio tokenizer). A line:
 * <pre>{"name": "greeting", "text": "...", "ref_text": "...", "ref_codes": "ref.codes.npy" and/or "ref_audio": "ref.wav",
 *  "scene": "...", "seed": 0, "max_new_tokens": 750}</pre>
 * Paths resolve against the file's directory; without ref_codes, a ref_audio is encoded with the audio tokenizer, or
 * its codes read from its {@code .codes.npy} sibling without one; a model with Whisper conditioning also takes the
 * ref_audio's waveform (the train layout needs it). Every prompt is read and encoded when the file is loaded, so a bad line
 * stops the run before training starts. Generation samples as the official examples do (temperature 1, top-k 50,
 * top-p 0.95, repetition-aware window 7), seeded per prompt, so a prompt's samples differ only by the training.
 */
public final class SamplePrompts {

    private static final Logger LOG = LoggerFactory.getLogger(SamplePrompts.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]+");

    /** One prompt, ready to generate from. */
    public record Prompt(String name, HiggsAudioBatch batch, GenerationConfig generation) {}

    private final List<Prompt> prompts;
    private final Path audioTokenizerPath;
    private final Path outputDir;
    private final Device device;

    private SamplePrompts(List<Prompt> prompts, Path audioTokenizerPath, Path outputDir, Device device) {
        this.prompts = prompts;
        this.audioTokenizerPath = audioTokenizerPath;
        this.outputDir = outputDir;
        this.device = device;
    }

    public List<Prompt> prompts() {
        return prompts;
    }

    /**
     * Reads and encodes every prompt of file; errors name the file, the line and the key. With audioTokenizerPath
     * (null: codes only), ref_audio is encoded and the samples are decoded to WAV.
     */
    public static SamplePrompts load(Path file, TextTokenizer tokenizer, HiggsAudioConfig config, PromptLayout layout,
                                     Path audioTokenizerPath, Path outputDir, Device device) throws IOException {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("--sample_prompts " + file + " is not a file");
        Path base = file.toAbsolutePath().getParent();
        ObjectMapper json = new ObjectMapper();
        List<Prompt> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        var sp = tokenizer.specialTokens();
        HiggsAudioTokenizer audioTokenizer = null;
        try {
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).isBlank()) continue;
                String where = file + " line " + (i + 1);
                JsonNode n;
                try {
                    n = json.readTree(lines.get(i));
                } catch (IOException e) {
                    throw new IllegalArgumentException(where + " is not valid JSON: " + io.higgs4j.json.JsonFields.syntaxError(e));
                }
                if (n == null || !n.isObject()) throw new IllegalArgumentException(where + " must be a JSON object");
                String name = string(n, "name", where, true);
                if (!NAME.matcher(name).matches()) throw new IllegalArgumentException(where + ": \"name\" '" + name + "' must be a plain file name ([A-Za-z0-9._-]+)");
                if (!names.add(name)) throw new IllegalArgumentException(where + ": \"name\" '" + name + "' is used twice");
                String refCodes = string(n, "ref_codes", where, false), refAudio = string(n, "ref_audio", where, false);
                long[][] ref = null;
                float[] wave16k = null;
                if (refAudio != null) {
                    Path wav = base.resolve(refAudio);
                    io.higgs4j.audio.Audio audio = GeneratedOutput.readReference(wav, where + ": \"ref_audio\"");
                    wave16k = audio.resampled(16_000).samples();
                    if (refCodes == null && audioTokenizerPath != null) {
                        if (audioTokenizer == null) audioTokenizer = AudioTokenizerLoader.load(audioTokenizerPath, device);
                        ref = GeneratedOutput.encodeReference(audioTokenizer, audio, wav, where + ": \"ref_audio\"");
                    } else if (refCodes == null) {
                        Path codes = base.resolve(AudioCodes.siblingCodesName(refAudio));
                        if (!Files.isRegularFile(codes)) {
                            throw new IllegalArgumentException(where + ": \"ref_audio\" " + wav + " has no codes beside it (" + codes
                                    + "); give --audio_tokenizer_path to encode it, or \"ref_codes\"");
                        }
                        ref = GeneratedOutput.readCodes(codes, config);
                    }
                }
                if (refCodes != null) {
                    Path codes = base.resolve(refCodes);
                    if (!Files.isRegularFile(codes)) throw new IllegalArgumentException(where + ": \"ref_codes\" " + codes + " is not a file");
                    try {
                        ref = GeneratedOutput.readCodes(codes, config);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException(where + ": \"ref_codes\": " + e.getMessage(), e);
                    }
                }
                int maxNew = n.has("max_new_tokens") ? integer(n, "max_new_tokens", where) : 750;
                long seed = n.has("seed") ? integer(n, "seed", where) : 0;
                GenerationPrompt.Request request = new GenerationPrompt.Request(string(n, "text", where, true),
                        string(n, "ref_text", where, false), ref, string(n, "scene", where, false), layout, wave16k);
                HiggsAudioBatch batch;
                try {
                    batch = GenerationPrompt.build(tokenizer, config, request);
                } catch (IllegalArgumentException e) {
                    // GenerationPrompt names generate's options; the prompts file has keys of the same names
                    throw new IllegalArgumentException(where + ": " + e.getMessage().replaceAll("--(text|ref_text|ref_audio|ref_codes|scene)\\b", "\"$1\""));
                }
                out.add(new Prompt(name, owned(batch),
                        GenerationConfig.officialSampling(maxNew, seed, sp.eot(), sp.endOfText())));
            }
        } finally {
            if (audioTokenizer != null) audioTokenizer.close();
        }
        if (out.isEmpty()) throw new IllegalArgumentException("--sample_prompts " + file + " holds no prompt");
        return new SamplePrompts(out, audioTokenizerPath, outputDir, device);
    }

    /** The batch's tensors taken out of any scope: the prompts live as long as the run. */
    private static HiggsAudioBatch owned(HiggsAudioBatch b) {
        for (var t : new io.higgs4j.torch.Tensor[] {b.inputIds(), b.attentionMask(), b.audioInIds(), b.audioInIdsStart(),
                b.audioOutIds(), b.audioOutIdsStart(), b.labelIds(), b.labelAudioIds()}) {
            if (t != null) Scope.disown(t);
        }
        return b;
    }

    private static String string(JsonNode n, String key, String where, boolean required) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            if (required) throw new IllegalArgumentException(where + ": \"" + key + "\" is missing");
            return null;
        }
        if (!v.isTextual()) throw new IllegalArgumentException(where + ": \"" + key + "\" must be a string, got " + v);
        return v.asText();
    }

    private static int integer(JsonNode n, String key, String where) {
        JsonNode v = n.get(key);
        if (!v.canConvertToExactIntegral() || !v.canConvertToInt() || v.asInt() < 0) {
            throw new IllegalArgumentException(where + ": \"" + key + "\" must be a non-negative integer, got " + v);
        }
        return v.asInt();
    }

    /** Generates every prompt with the model as it is now into samples/step-N/; returns that directory. */
    public Path generate(HiggsAudioModel model, long step) throws IOException {
        Path dir = outputDir.resolve("samples").resolve("step-" + step);
        HiggsAudioGenerator generator = new HiggsAudioGenerator(model);
        long t0 = System.nanoTime();
        try (HiggsAudioTokenizer tokenizer = audioTokenizerPath == null ? null : AudioTokenizerLoader.load(audioTokenizerPath, device)) {
            List<String> made = new ArrayList<>();
            for (Prompt p : prompts) {
                try (Scope s = Scope.open()) {
                    HiggsAudioGenerator.Result r = generator.generate(p.batch().to(device), p.generation());
                    long[][] codes = generator.audioCodes(r);
                    if (codes[0].length == 0) {
                        made.add(p.name() + " (no audio in " + r.newTokens() + " steps)");
                        continue;
                    }
                    GeneratedOutput.write(codes, tokenizer, tokenizer == null ? null : dir.resolve(p.name() + ".wav"),
                            dir.resolve(p.name() + ".codes.npy"));
                    made.add(String.format(Locale.ROOT, "%s (%.2f s)", p.name(), codes[0].length / 25.0));
                }
            }
            LOG.info(String.format(Locale.ROOT, "samples at step %d in %s: %s (%.1f s)", step, dir, String.join(", ", made),
                    (System.nanoTime() - t0) / 1e9));
        }
        return dir;
    }
}
