package io.higgs4j.trainer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.higgs4j.audio.Audio;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.tokenizer.AudioTokenizerConfig;
import io.higgs4j.tokenizer.AudioTokenizerLoader;
import io.higgs4j.tokenizer.HiggsAudioTokenizer;
import io.higgs4j.torch.Device;
import io.higgs4j.trainer.data.AtomicFile;
import io.higgs4j.trainer.data.DataValidator;
import io.higgs4j.trainer.data.TextTokenizer;
import io.higgs4j.trainer.data.PromptLayout;
import io.higgs4j.trainer.data.ValidationOptions;
import io.higgs4j.trainer.data.ValidationReport;
import io.higgs4j.trainer.prepare.Clip;
import io.higgs4j.trainer.prepare.ClipSources;
import io.higgs4j.trainer.prepare.DataPreparer;
import io.higgs4j.trainer.prepare.Skipped;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** From the folders people have to a voice-cloning training set: transcripts paired with audio, codes, samples, a report. */
@Command(name = "prepare-data", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Turn a folder of audio files with .txt/.lab transcripts, an LJSpeech metadata.csv, or JSONL "
                + "{\"audio\", \"text\", \"speaker\"} lines into ChatML voice-cloning samples with their codes.",
                "Writes OUT/codes/SPEAKER/NAME-HASH.codes.npy (HASH: of the audio file's path, size and time; a re-run skips the "
                        + "clips already encoded), then, once every clip is done, OUT/train.jsonl (and OUT/eval.jsonl with --eval_ratio) "
                        + "and OUT/report.json.",
                "An id or audio file listed twice, a .txt and a .lab transcript that differ, or two audio files of one name "
                        + "(a wav and an mp3) sharing one transcript stop the run before anything is encoded, each named."})
public final class PrepareDataCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--input", required = true, paramLabel = "PATH", description = "a folder of audio + transcripts, a metadata.csv (or its folder), or a .jsonl file")
    Path input;

    @Option(names = {"--output_dir", "--output-dir"}, required = true, paramLabel = "OUT", description = "where the samples, codes and report go")
    Path outputDir;

    @Option(names = {"--audio_tokenizer_path", "--audio-tokenizer-path"}, required = true, paramLabel = "DIR|ID",
            description = "audio tokenizer directory (config.json, model.pth or model.safetensors) or its Hugging Face id "
                    + "(bosonai/higgs-audio-v2-tokenizer); loaded only when a clip has no codes yet")
    Path audioTokenizerPath;

    @Option(names = {"--prompt_layout", "--prompt-layout"}, defaultValue = "train", paramLabel = "official|train",
            description = io.higgs4j.trainer.data.PromptLayout.OPTION_HELP)
    String promptLayout;

    @Option(names = {"--eval_ratio", "--eval-ratio"}, defaultValue = "0",
            description = "hold out this share of the clips by speaker into eval.jsonl (default: ${DEFAULT-VALUE}, none)")
    double evalRatio;

    @Option(names = {"--min_seconds", "--min-seconds"}, defaultValue = "0", description = "shortest clip kept (default: ${DEFAULT-VALUE}, no limit)")
    double minSeconds;

    @Option(names = {"--max_seconds", "--max-seconds"}, defaultValue = "0", description = "longest clip kept (default: ${DEFAULT-VALUE}, no limit)")
    double maxSeconds;

    @Option(names = "--device", description = "cpu or cuda:N for the audio tokenizer (default: cuda:0 when CUDA is available, else cpu)")
    String device;

    @Option(names = "--seed", defaultValue = "42", description = "seed of the reference choice and the split (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = {"--model_path", "--model-path"}, paramLabel = "DIR|ID",
            description = "optional: validate the result against this model's config and tokenizer (as validate-data) into report.json; "
                    + "a directory or a Hugging Face id (only its config and tokenizer files are fetched)")
    Path modelPath;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PromptLayout layout;
        DataPreparer.Options options;
        try {
            layout = PromptLayout.parse(promptLayout);
            options = new DataPreparer.Options(layout, evalRatio, minSeconds, maxSeconds, seed);
            if (device != null) Device.parse(device);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        // Everything that can be checked is checked before the first clip is encoded (which can take hours), and
        // nothing but codes is written until the end: a run that fails leaves no train.jsonl or report.json of its own.
        // Hugging Face ids become their snapshots in the Hugging Face cache (downloaded on a miss)
        audioTokenizerPath = io.higgs4j.trainer.hub.ModelLocator.locate(audioTokenizerPath, io.higgs4j.trainer.hub.ModelLocator.Kind.AUDIO_TOKENIZER);
        modelPath = io.higgs4j.trainer.hub.ModelLocator.locate(modelPath, io.higgs4j.trainer.hub.ModelLocator.Kind.MODEL_CONFIG);
        if (!Files.isRegularFile(audioTokenizerPath.resolve("config.json"))) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--audio_tokenizer_path " + audioTokenizerPath
                    + " has no config.json (expected the audio tokenizer's directory)");
        }
        try {
            AudioTokenizerConfig.load(audioTokenizerPath);  // its weights are loaded only when a clip needs encoding
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("--audio_tokenizer_path " + audioTokenizerPath + ": " + e.getMessage(), e);
        }
        if (Files.exists(outputDir) && !Files.isDirectory(outputDir)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--output_dir " + outputDir + " is a file, not a directory");
        }
        DataValidator validator = null;
        TextTokenizer textTokenizer = null;
        try {
            if (modelPath != null) {
                try {
                    HiggsAudioConfig config = HiggsAudioConfig.fromFile(modelPath);
                    textTokenizer = TextTokenizer.load(modelPath);
                    validator = new DataValidator(config, textTokenizer, ValidationOptions.defaults().withPromptLayout(layout));
                } catch (IOException | RuntimeException e) {
                    throw new IllegalArgumentException("--model_path " + modelPath + ": " + e.getMessage(), e);
                }
            }
            List<Skipped> skipped = new ArrayList<>();
            List<Clip> clips = ClipSources.read(input, skipped);
            out.printf(Locale.ROOT, "%d clips of %d speakers in %s%s%n", clips.size(), clips.stream().map(Clip::speaker).distinct().count(), input,
                    skipped.isEmpty() ? "" : " (" + skipped.size() + " left out: " + skipped.getFirst().message() + (skipped.size() > 1 ? ", ..." : "") + ")");
            Device dev = SharedOptions.device(device, 0);
            DataPreparer.Result r;
            try (LazyTokenizer codec = new LazyTokenizer(audioTokenizerPath, dev)) {
                r = new DataPreparer(codec, options, System.err).prepare(clips, skipped, outputDir);
            }
            ObjectNode report = report(r, layout);
            Path train = outputDir.resolve("train.jsonl"), eval = outputDir.resolve("eval.jsonl"), reportFile = outputDir.resolve("report.json");
            if (validator != null) {
                ValidationReport v = validator.validateLines(train, r.trainLines(), null).report();
                report.set("validation", v.toJson());
                v.print(out);
            }
            // Each file is written whole (AtomicFile); report.json goes last, so that a train.jsonl never sits
            // beside the report of another run. A previous run's eval split must not linger.
            Files.deleteIfExists(reportFile);
            if (r.evalLines().isEmpty()) Files.deleteIfExists(eval);
            else AtomicFile.write(eval, tmp -> Files.write(tmp, r.evalLines(), StandardCharsets.UTF_8));
            AtomicFile.write(train, tmp -> Files.write(tmp, r.trainLines(), StandardCharsets.UTF_8));
            AtomicFile.write(reportFile, tmp -> new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(tmp.toFile(), report));
            out.printf(Locale.ROOT, "%d clips of %d speakers used (%.3f h); %d train samples%s; %.3f h target, %.3f h reference audio%n",
                    r.clipsUsed(), r.speakers(), r.secondsUsed() / 3600, r.trainSamples(),
                    r.evalSamples() > 0 ? ", " + r.evalSamples() + " eval samples" : "", r.targetSeconds() / 3600, r.referenceSeconds() / 3600);
            if (!r.skipped().isEmpty()) out.println("skipped: " + r.skippedByReason() + " (every one is listed in report.json)");
            if (r.encoded() > 0) {
                out.printf(Locale.ROOT, "encoded %d clips (%.1f s of audio) in %.1f s: %.2f hours of audio per hour%n", r.encoded(), r.encodedSeconds(),
                        r.encodeWallSeconds(), r.encodedSeconds() / Math.max(r.encodeWallSeconds(), 1e-9));
            }
            out.println("wrote " + train + (r.evalSamples() > 0 ? ", " + eval : "") + " and " + reportFile);
            return 0;
        } finally {
            if (textTokenizer != null) textTokenizer.close();
        }
    }

    private ObjectNode report(DataPreparer.Result r, PromptLayout layout) {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("input", input.toAbsolutePath().toString());
        n.put("prompt_layout", layout.optionValue());
        n.put("clips_found", r.clipsFound());
        n.put("clips_used", r.clipsUsed());
        n.put("speakers", r.speakers());
        ObjectNode h = n.putObject("hours");
        h.put("used", r.secondsUsed() / 3600);
        h.put("target", r.targetSeconds() / 3600);
        h.put("reference", r.referenceSeconds() / 3600);
        n.put("train_samples", r.trainSamples());
        n.put("eval_samples", r.evalSamples());
        ObjectNode reasons = n.putObject("skipped");
        r.skippedByReason().forEach(reasons::put);
        ArrayNode list = n.putArray("skipped_clips");
        for (Skipped s : r.skipped()) list.addObject().put("clip", s.what()).put("reason", s.reason().key()).put("message", s.message());
        n.put("encoded_clips", r.encoded());
        n.put("encoded_seconds", r.encodedSeconds());
        n.put("encode_wall_seconds", r.encodeWallSeconds());
        return n;
    }

    /** The audio tokenizer, loaded on the first clip that needs encoding (a re-run with every code done needs none). */
    static final class LazyTokenizer implements DataPreparer.Codec, AutoCloseable {
        private final Path dir;
        private final Device device;
        private HiggsAudioTokenizer tokenizer;

        LazyTokenizer(Path dir, Device device) {
            this.dir = dir;
            this.device = device;
        }

        @Override
        public Audio read(Path audio) throws IOException {
            return io.higgs4j.audio.AudioFiles.read(audio);
        }

        @Override
        public long[][] encode(Audio audio) {
            if (tokenizer == null) {
                try {
                    tokenizer = AudioTokenizerLoader.load(dir, device);
                } catch (IOException | RuntimeException e) {
                    throw new DataPreparer.CodecException("--audio_tokenizer_path " + dir + ": " + e.getMessage(), e);
                }
            }
            return tokenizer.encode(audio);
        }

        @Override
        public void close() {
            if (tokenizer != null) tokenizer.close();
        }
    }
}
