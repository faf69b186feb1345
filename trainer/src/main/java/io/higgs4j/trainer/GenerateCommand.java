package io.higgs4j.trainer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.higgs4j.audio.Audio;
import io.higgs4j.higgs.GenerationConfig;
import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioGenerator;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.io.Npy;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.tokenizer.AudioTokenizerLoader;
import io.higgs4j.tokenizer.HiggsAudioTokenizer;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.trainer.data.TextTokenizer;
import io.higgs4j.trainer.data.PromptLayout;
import io.higgs4j.trainer.generate.GenerationPrompt;
import io.higgs4j.trainer.generate.GeneratedOutput;
import io.higgs4j.trainer.generate.LoadedModel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Text to speech with Higgs Audio (and a LoRA adapter): the reference's sampling loop in Java. Two ways in: the user
 * level (text, an optional reference voice, a WAV out) and the token level (prompt ids and codes in, the sequence and
 * the clips out as JSON, for parity checks against the official code).
 */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Generate speech with Higgs Audio (optionally with a LoRA adapter), as the official generate loop does.",
                "User level: --text [--ref_audio a.wav | --ref_codes a.codes.npy] --ref_text ... --output out.wav.",
                "Token level: --input_ids 1,2,3 [--audio_in_ids F.npy] [--audio_out_ids F.npy] --output_json OUT.json."})
public final class GenerateCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = {"--model_path", "--model-path"}, paramLabel = "DIR|ID",
            description = "model directory: config.json, safetensors weights (and tokenizer.json at the user level); or a Hugging Face id "
                    + "owner/name[@revision] (bosonai/higgs-audio-v2-generation-3B-base), fetched into the Hugging Face cache")
    Path modelPath;

    @Option(names = "--config", description = "instead of --model_path: a preset (tiny, small) or a config.json, randomly initialised (--seed); for tests")
    String config;

    @Option(names = "--tokenizer", paramLabel = "tokenizer.json", description = "text tokenizer when it is not in --model_path (tiny has a demo one)")
    Path tokenizer;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT LoRA adapter directory (adapter_config.json, adapter_model.safetensors)")
    Path adapter;

    @Option(names = "--unmerged", description = "keep the adapter's LoRA branches unmerged (slower; the default merges them into the weights)")
    boolean unmerged;

    // ---- user level ----
    @Option(names = "--text", description = "the text to speak")
    String text;

    @Option(names = {"--ref_audio", "--ref-audio"}, paramLabel = "WAV", description = "reference voice (WAV), encoded with the audio tokenizer")
    Path refAudio;

    @Option(names = {"--ref_codes", "--ref-codes"}, paramLabel = "CODES.npy", description = "reference voice as codes (K x T .npy), instead of --ref_audio")
    Path refCodes;

    @Option(names = {"--ref_text", "--ref-text"}, description = "the reference's transcript")
    String refText;

    @Option(names = "--scene", description = "scene description (official layout: the system message's scene block)")
    String scene;

    @Option(names = {"--prompt_layout", "--prompt-layout"}, defaultValue = "official", paramLabel = "official|train",
            description = io.higgs4j.trainer.data.PromptLayout.OPTION_HELP)
    String promptLayout;

    @Option(names = {"--audio_tokenizer_path", "--audio-tokenizer-path"}, paramLabel = "DIR|ID",
            description = "audio tokenizer directory (config.json, model.pth or model.safetensors) or its Hugging Face id "
                    + "(bosonai/higgs-audio-v2-tokenizer): encodes --ref_audio, decodes --output")
    Path audioTokenizerPath;

    @Option(names = "--output", paramLabel = "OUT.wav", description = "the speech, 24 kHz mono WAV (needs --audio_tokenizer_path)")
    Path output;

    @Option(names = {"--codes_output", "--codes-output"}, paramLabel = "OUT.codes.npy", description = "the generated codes, K x T int64 .npy")
    Path codesOutput;

    // ---- token level ----
    @Option(names = {"--input_ids", "--input-ids"}, split = ",", paramLabel = "ID", description = "token level: the prompt's input ids")
    List<Long> inputIds;

    @Option(names = {"--audio_in_ids", "--audio-in-ids"}, paramLabel = "F.npy", description = "token level: the collator's audio_in_ids (K x columns)")
    Path audioInIds;

    @Option(names = {"--audio_in_ids_start", "--audio-in-ids-start"}, split = ",", paramLabel = "COL",
            description = "token level: each audio-in clip's first column (default: 0, for one clip)")
    List<Long> audioInIdsStart;

    @Option(names = {"--audio_out_ids", "--audio-out-ids"}, paramLabel = "F.npy",
            description = "token level: the collator's audio_out_ids (K x columns, delay-pattern form with BOS/EOS columns)")
    Path audioOutIds;

    @Option(names = {"--audio_out_ids_start", "--audio-out-ids-start"}, split = ",", paramLabel = "COL",
            description = "token level: each audio-out clip's first column (default: 0, for one clip)")
    List<Long> audioOutIdsStart;

    @Option(names = {"--output_json", "--output-json"}, paramLabel = "OUT.json",
            description = "token level: {\"sequence\": [...], \"audio\": [clip, ...]} as the official _sample returns them")
    Path outputJson;

    // ---- sampling ----
    @Option(names = {"--max_new_tokens", "--max-new-tokens"}, defaultValue = "2048",
            description = "steps at most; every audio frame is one (default: ${DEFAULT-VALUE}, about 80 s of audio)")
    int maxNewTokens;

    @Option(names = {"--do_sample", "--do-sample"}, arity = "1", paramLabel = "true|false",
            description = "sample (temperature, top-k, top-p) or take the argmax (default: true at the user level, as "
                    + "examples/generation.py; false at the token level, as generate)")
    Boolean doSample;

    @Option(names = "--temperature", description = "(default: 1)")
    Double temperature;

    @Option(names = {"--top_k", "--top-k"}, description = "0: off (default: 50)")
    Integer topK;

    @Option(names = {"--top_p", "--top-p"}, description = "1: off (default: 0.95 at the user level, as examples/generation.py; 1 at the token level, as generate)")
    Double topP;

    @Option(names = {"--ras_win_len", "--ras-win-len"},
            description = "repetition-aware sampling window in audio columns; 0: off (default: 7 at the user level, as examples/generation.py; off at the token level, as generate)")
    Integer rasWinLen;

    @Option(names = {"--ras_win_max_num_repeat", "--ras-win-max-num-repeat"}, defaultValue = "2",
            description = "a code seen this often in the window is resampled (default: ${DEFAULT-VALUE})")
    int rasWinMaxNumRepeat;

    @Option(names = "--seed", description = "sampling seed: the same seed gives the same audio (default: libtorch's default stream)")
    Long seed;

    @Option(names = {"--stop_token_ids", "--stop-token-ids"}, split = ",", paramLabel = "ID",
            description = "stop after emitting any of these (default: <|eot_id|> and <|end_of_text|> at the user level, none at the token level)")
    List<Long> stopTokenIds;

    @Option(names = "--device", description = "cpu or cuda:N (default: cuda:0 when CUDA is available, else cpu)")
    String device;

    @Option(names = "--dtype", description = "bf16 or fp32 (default: bf16 on CUDA, fp32 on CPU)")
    String dtype;

    private CommandLine.ParameterException bad(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    private boolean tokenLevel() {
        return inputIds != null;
    }

    void validate() {
        if ((modelPath == null) == (config == null)) throw bad("give either --model_path or --config");
        if (rasWinLen != null && rasWinLen < 0) throw bad("--ras_win_len must be >= 0 (0 turns repetition-aware sampling off), got " + rasWinLen);
        if (modelPath != null && !Files.isDirectory(modelPath) && !io.higgs4j.trainer.hub.HubId.isHubId(modelPath.toString())) {
            throw bad("--model_path " + modelPath + " is not a directory (nor a Hugging Face id owner/name[@revision])");
        }
        if (modelPath != null && Files.isDirectory(modelPath) && !Files.isRegularFile(modelPath.resolve("config.json"))) throw bad("--model_path " + modelPath + " has no config.json");
        if (adapter != null && !Files.isRegularFile(adapter.resolve(LoraModel.CONFIG_FILE))) {
            throw bad("--adapter " + adapter + " has no " + LoraModel.CONFIG_FILE);
        }
        if (maxNewTokens < 1) throw bad("--max_new_tokens must be >= 1, got " + maxNewTokens);
        if (dtype != null) {
            try {
                SharedOptions.dtype(dtype);
            } catch (IllegalArgumentException e) {
                throw bad(e.getMessage());
            }
        }
        if (tokenLevel()) {
            List<String> userLevel = new ArrayList<>();
            if (text != null) userLevel.add("--text");
            if (refAudio != null) userLevel.add("--ref_audio");
            if (refCodes != null) userLevel.add("--ref_codes");
            if (refText != null) userLevel.add("--ref_text");
            if (scene != null) userLevel.add("--scene");
            if (output != null) userLevel.add("--output");
            if (codesOutput != null) userLevel.add("--codes_output");
            if (!userLevel.isEmpty()) throw bad("--input_ids (token level) does not combine with " + String.join(", ", userLevel));
            if (outputJson == null) throw bad("--input_ids needs --output_json");
            if (inputIds.isEmpty()) throw bad("--input_ids is empty");
            requireFile("--audio_in_ids", audioInIds);
            requireFile("--audio_out_ids", audioOutIds);
            if (audioInIdsStart != null && audioInIds == null) throw bad("--audio_in_ids_start needs --audio_in_ids");
            if (audioOutIdsStart != null && audioOutIds == null) throw bad("--audio_out_ids_start needs --audio_out_ids");
            checkOutput("--output_json", outputJson);
        } else {
            if (text == null) throw bad("give --text (or --input_ids for the token level)");
            if (audioInIds != null || audioOutIds != null || outputJson != null) {
                throw bad("--audio_in_ids, --audio_out_ids and --output_json belong to the token level (--input_ids)");
            }
            if (output == null && codesOutput == null) throw bad("give --output OUT.wav and/or --codes_output OUT.codes.npy");
            if (refAudio != null && refCodes != null) throw bad("give --ref_audio or --ref_codes, not both");
            requireFile("--ref_audio", refAudio);
            requireFile("--ref_codes", refCodes);
            if ((refAudio != null || refCodes != null) && refText == null) throw bad("a reference needs its transcript: --ref_text");
            if (refAudio == null && refCodes == null && refText != null) throw bad("--ref_text needs --ref_audio or --ref_codes");
            if ((output != null || refAudio != null) && audioTokenizerPath == null) {
                throw bad((output != null ? "--output (a WAV)" : "--ref_audio") + " needs the audio tokenizer: --audio_tokenizer_path DIR"
                        + (output != null ? " (or write codes only with --codes_output)" : " (or give --ref_codes)"));
            }
            if (audioTokenizerPath != null && !Files.isRegularFile(audioTokenizerPath.resolve("config.json"))
                    && !io.higgs4j.trainer.hub.HubId.isHubId(audioTokenizerPath.toString())) {
                throw bad("--audio_tokenizer_path " + audioTokenizerPath + " has no config.json (expected the audio tokenizer's directory)");
            }
            checkOutput("--output", output);
            checkOutput("--codes_output", codesOutput);
            try {
                PromptLayout.parse(promptLayout);
            } catch (IllegalArgumentException e) {
                throw bad(e.getMessage());
            }
        }
        try {
            generationConfig(new long[0]);
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage());
        }
        SharedOptions.checkDevice(device, this::bad);
    }

    private void requireFile(String option, Path p) {
        if (p != null && !Files.isRegularFile(p)) throw bad(option + " " + p + " is not a file");
    }

    private void checkOutput(String option, Path p) {
        if (p == null) return;
        if (Files.isDirectory(p)) throw bad(option + " " + p + " is a directory; give a file name");
        Path parent = p.toAbsolutePath().getParent();
        if (Files.exists(parent) && !Files.isDirectory(parent)) throw bad(option + " " + p + ": " + parent + " is not a directory");
    }

    /**
     * The user level defaults to the official examples/generation.py's settings, the token level to the official
     * generate's own (transformers' defaults: top-k 50, no top-p, no repetition-aware sampling).
     */
    GenerationConfig generationConfig(long[] defaultStops) {
        long[] stops = stopTokenIds != null ? stopTokenIds.stream().mapToLong(Long::longValue).toArray() : defaultStops;
        int ras = rasWinLen != null ? rasWinLen : tokenLevel() ? 0 : 7;
        boolean sample = doSample != null ? doSample : !tokenLevel();
        return new GenerationConfig(maxNewTokens, stops, sample, temperature != null ? temperature : 1.0, topK != null ? topK : 50,
                topP != null ? topP : tokenLevel() ? 1.0 : 0.95, ras > 0 ? ras : null, rasWinMaxNumRepeat, seed);
    }

    @Override
    public Integer call() throws Exception {
        validate();
        // Hub ids become their snapshots in the Hugging Face cache (downloaded on a miss), before anything is loaded
        modelPath = io.higgs4j.trainer.hub.ModelLocator.locate(modelPath, io.higgs4j.trainer.hub.ModelLocator.Kind.MODEL);
        audioTokenizerPath = io.higgs4j.trainer.hub.ModelLocator.locate(audioTokenizerPath, io.higgs4j.trainer.hub.ModelLocator.Kind.AUDIO_TOKENIZER);
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Device dev = SharedOptions.device(device, 0);
        DType dt = dtype != null ? SharedOptions.dtype(dtype) : dev.type() == Device.Type.CUDA ? DType.BFLOAT16 : DType.FLOAT32;
        HiggsAudioConfig cfg = modelPath != null ? HiggsAudioConfig.fromFile(modelPath.resolve("config.json")) : HiggsAudioConfig.resolve(config);
        if (tokenLevel()) {
            try (LoadedModel m = LoadedModel.load(cfg, modelPath, seed, adapter, !unmerged, dev, dt); Scope s = Scope.open()) {
                HiggsAudioBatch prompt = tokenPrompt(cfg);
                HiggsAudioGenerator.Result r = new HiggsAudioGenerator(m.model()).generate(prompt, generationConfig(new long[0]));
                writeJson(r);
                out.printf(Locale.ROOT, "%s: %d new tokens, %d clips%n", outputJson, r.newTokens(), r.audio().size());
            }
            return 0;
        }
        PromptLayout layout = PromptLayout.parse(promptLayout);
        try (TextTokenizer textTokenizer = TextTokenizer.resolve(config, modelPath, tokenizer);
             HiggsAudioTokenizer audioTokenizer = audioTokenizerPath == null ? null : AudioTokenizerLoader.load(audioTokenizerPath, dev)) {
            textTokenizer.checkCompatible(cfg);
            Audio refWav = refAudio != null ? GeneratedOutput.readReference(refAudio, "--ref_audio") : null;
            long[][] ref = refCodes != null ? GeneratedOutput.readCodes(refCodes, cfg)
                    : refWav != null ? GeneratedOutput.encodeReference(audioTokenizer, refWav, refAudio, "--ref_audio") : null;
            GenerationPrompt.Request request = new GenerationPrompt.Request(text, refText, ref, scene, layout,
                    refWav == null ? null : refWav.resampled(16_000).samples());
            var sp = textTokenizer.specialTokens();
            GenerationConfig gen = generationConfig(new long[] {sp.eot(), sp.endOfText()});
            try (LoadedModel m = LoadedModel.load(cfg, modelPath, seed, adapter, !unmerged, dev, dt); Scope s = Scope.open()) {
                HiggsAudioBatch prompt = GenerationPrompt.build(textTokenizer, cfg, request);
                HiggsAudioGenerator generator = new HiggsAudioGenerator(m.model());
                long t0 = System.nanoTime();
                HiggsAudioGenerator.Result r = generator.generate(prompt, gen, progress(err, t0));
                err.print(terminal() ? "\r" : "");
                long[][] codes = generator.audioCodes(r);
                double seconds = (System.nanoTime() - t0) / 1e9, audioSeconds = codes[0].length / 25.0;
                if (codes[0].length == 0) {
                    throw new IllegalStateException("the model generated no audio in " + r.newTokens() + " steps (generated text: "
                            + textTokenizer.decode(r.generated()) + "); nothing written");
                }
                GeneratedOutput.write(codes, audioTokenizer, output, codesOutput);
                out.printf(Locale.ROOT, "generated %d frames (%.2f s of audio) in %.2f s: real-time factor %.3f; prompt %d positions in %.0f ms%n",
                        codes[0].length, audioSeconds, seconds, seconds / audioSeconds, r.promptPositions(), r.prefillNanos() / 1e6);
                if (output != null) out.println("wrote " + output);
                if (codesOutput != null) out.println("wrote " + codesOutput);
            }
        }
        return 0;
    }

    private static boolean terminal() {
        return System.console() != null && System.console().isTerminal();
    }

    /** A progress line every 25 audio frames (one second of audio): frames and the real-time factor so far. */
    private static HiggsAudioGenerator.Progress progress(PrintWriter err, long t0) {
        boolean tty = terminal();
        return (steps, columns) -> {
            if (columns == 0 || columns % 25 != 0) return;
            double seconds = (System.nanoTime() - t0) / 1e9;
            err.printf(Locale.ROOT, tty ? "\r%d frames (%.1f s of audio), real-time factor %.3f " : "%d frames (%.1f s of audio), real-time factor %.3f%n",
                    columns, columns / 25.0, seconds / (columns / 25.0));
            err.flush();
        };
    }

    /** The token-level prompt: --input_ids and the .npy codes with their start columns. */
    private HiggsAudioBatch tokenPrompt(HiggsAudioConfig cfg) throws IOException {
        long[] ids = inputIds.stream().mapToLong(Long::longValue).toArray();
        Tensor in = null, inStart = null, outIds = null, outStart = null;
        if (audioInIds != null) {
            in = GeneratedOutput.readColumns(audioInIds, cfg);
            inStart = starts("--audio_in_ids", audioInIdsStart, ids, cfg.audioInTokenIdx(), "<|AUDIO|>");
        }
        if (audioOutIds != null) {
            outIds = GeneratedOutput.readColumns(audioOutIds, cfg);
            outStart = starts("--audio_out_ids", audioOutIdsStart, ids, cfg.audioOutTokenIdx(), "<|AUDIO_OUT|>");
        }
        return new HiggsAudioBatch(Tensor.of(ids, 1, ids.length), null, in, inStart, outIds, outStart, null, null);
    }

    private static Tensor starts(String option, List<Long> given, long[] ids, long placeholder, String name) {
        if (given != null) return Tensor.of(given.stream().mapToLong(Long::longValue).toArray());
        long n = java.util.Arrays.stream(ids).filter(i -> i == placeholder).count();
        if (n != 1) {
            throw new IllegalArgumentException(option + ": --input_ids hold " + n + " " + name + " placeholders; give "
                    + option + "_start with each clip's first column");
        }
        return Tensor.of(new long[] {0});
    }

    private void writeJson(HiggsAudioGenerator.Result r) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ArrayNode seq = root.putArray("sequence");
        for (long id : r.sequence()) seq.add(id);
        ArrayNode audio = root.putArray("audio");
        for (long[][] clip : r.audio()) {
            ArrayNode rows = audio.addArray();
            for (long[] row : clip) {
                ArrayNode a = rows.addArray();
                for (long c : row) a.add(c);
            }
        }
        io.higgs4j.trainer.data.AtomicFile.write(outputJson, tmp -> json.writeValue(tmp.toFile(), root));
    }
}
