package io.higgs4j.trainer;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.trainer.data.DataValidator;
import io.higgs4j.trainer.data.TextTokenizer;
import io.higgs4j.trainer.data.PromptLayout;
import io.higgs4j.trainer.data.ValidationOptions;
import io.higgs4j.trainer.data.ValidationReport;
import io.higgs4j.trainer.hub.ModelLocator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Checks a ChatML data set as training would, prints a summary and optionally writes the report as JSON. */
@Command(name = "validate-data", mixinStandardHelpOptions = true,
        description = {"Check a ChatML data set (JSON array or JSONL, or a directory of them) before training: every sample is "
                + "valid or counted under a reason; prints the counts, hours of reference and target audio, and the speakers.",
                "Exit status: 0 when at least one sample is valid (with --strict: when all are), 1 otherwise."})
public final class ValidateDataCommand implements Callable<Integer> {

    @Option(names = {"--data_path", "--data-path"}, required = true, paramLabel = "FILE", description = "ChatML .json / .jsonl file or directory")
    Path dataPath;

    @Option(names = "--report", paramLabel = "REPORT.json", description = "write the report as JSON")
    Path report;

    @Option(names = {"--model_path", "--model-path"}, paramLabel = "DIR|ID",
            description = "model directory (config.json, tokenizer.json), or a Hugging Face id owner/name[@revision] (its config and "
                    + "tokenizer fetched into the Hugging Face cache, not its weights)")
    Path modelPath;

    @Option(names = {"--config", "--config_path", "--config-path"}, paramLabel = "CONFIG",
            description = "a config.json, a directory holding one, or a preset (${COMPLETION-CANDIDATES}); the tiny preset brings its demo tokenizer",
            completionCandidates = ParamsCommand.Presets.class)
    String config;

    @Option(names = "--tokenizer", paramLabel = "tokenizer.json", description = "tokenizer.json (default: the model's)")
    Path tokenizer;

    @Option(names = {"--max_seq_len", "--max-seq-len"}, defaultValue = "0",
            description = "longest merged sequence (text tokens plus audio columns) allowed; 0 = no limit (default: ${DEFAULT-VALUE})")
    int maxSeqLen;

    @Option(names = {"--min_audio_seconds", "--min-audio-seconds"}, defaultValue = "0",
            description = "shortest audio clip allowed, seconds (frames / 25); 0 = no limit (default: ${DEFAULT-VALUE})")
    double minAudioSeconds;

    @Option(names = {"--max_audio_seconds", "--max-audio-seconds"}, defaultValue = "0",
            description = "longest audio clip allowed, seconds; 0 = no limit (default: ${DEFAULT-VALUE})")
    double maxAudioSeconds;

    @Option(names = {"--prompt_layout", "--prompt-layout"}, defaultValue = "train", paramLabel = "official|train",
            description = io.higgs4j.trainer.data.PromptLayout.OPTION_HELP)
    String promptLayout;

    @Option(names = "--strict", description = "fail when any sample is invalid")
    boolean strict;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        modelPath = ModelLocator.locate(modelPath, ModelLocator.Kind.MODEL_CONFIG);
        HiggsAudioConfig cfg = modelConfig(config, modelPath);
        ValidationOptions options = new ValidationOptions(maxSeqLen, minAudioSeconds, maxAudioSeconds, 10, PromptLayout.parse(promptLayout));
        try (TextTokenizer tok = TextTokenizer.resolve(config, modelPath, tokenizer)) {
            PrintWriter out = spec.commandLine().getOut();
            DataValidator.Result result = new DataValidator(cfg, tok, options).validate(dataPath, spec.commandLine().getErr());
            ValidationReport r = result.report();
            r.print(out);
            if (report != null) {
                r.write(report);
                out.println("Report written to " + report);
            }
            out.flush();
            result.requireNonEmpty(dataPath);
            if (strict && r.invalid() > 0) {
                throw new IllegalArgumentException(r.invalid() + " of " + r.total() + " samples in " + dataPath + " are invalid (--strict)");
            }
        }
        return 0;
    }

    /** The config of --model_path, else of --config; one of them is needed. */
    static HiggsAudioConfig modelConfig(String config, Path modelPath) throws java.io.IOException {
        if (config != null) return HiggsAudioConfig.resolve(config);
        if (modelPath != null) return HiggsAudioConfig.fromFile(modelPath);
        throw new IllegalArgumentException("give --model_path DIR or --config (a config.json or a preset) to know the codebooks and the tokenizer");
    }
}
