package io.higgs4j.trainer;

import io.higgs4j.lora.LoraConfig;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.util.List;

/**
 * The LoRA options of train and params (a picocli mixin): declared once, so that params counts and plans the adapter
 * that train would build when given the same options, with the same defaults.
 */
final class LoraOptions {

    @Option(names = {"--lora_r", "--lora-r"}, defaultValue = "16", description = "LoRA rank (default: ${DEFAULT-VALUE})")
    int r;

    @Option(names = {"--lora_alpha", "--lora-alpha"}, defaultValue = "32", description = "LoRA alpha (default: ${DEFAULT-VALUE})")
    double alpha;

    @Option(names = {"--lora_dropout", "--lora-dropout"}, defaultValue = "0.05", description = "dropout on the LoRA input (default: ${DEFAULT-VALUE})")
    double dropout;

    @Option(names = {"--lora_targets", "--lora-targets"}, defaultValue = "comprehensive",
            description = "attention, mlp, audio, comprehensive, or a comma list of presets and module-name suffixes (default: ${DEFAULT-VALUE})")
    String targets;

    @Option(names = {"--modules_to_save", "--modules-to-save"}, split = ",", defaultValue = "seed",
            description = ModulesToSave.OPTION_HELP + " (default: ${DEFAULT-VALUE})")
    List<String> modulesToSave;

    @Option(names = {"--use_rslora", "--use-rslora"}, description = "scale LoRA by alpha/sqrt(r) instead of alpha/r")
    boolean useRslora;

    /** Rejects values no adapter can have, as a usage error of the command line cl. */
    void validate(CommandLine cl) {
        if (r < 1) throw new CommandLine.ParameterException(cl, "--lora_r must be >= 1, got " + r);
        if (!(alpha > 0)) throw new CommandLine.ParameterException(cl, "--lora_alpha must be > 0, got " + alpha);
        if (!(dropout >= 0 && dropout < 1)) throw new CommandLine.ParameterException(cl, "--lora_dropout must be in [0, 1), got " + dropout);
    }

    /** --modules_to_save with its presets expanded, in a list the caller may add to. */
    List<String> modulesToSaveExpanded() {
        return ModulesToSave.expand(modulesToSave);
    }

    /** The adapter configuration; baseModelName goes into the saved adapter_config.json (null: none). */
    LoraConfig config(List<String> modulesToSave, String baseModelName) {
        return new LoraConfig(r, alpha, dropout, useRslora, LoraConfig.targets(targets), null, null, List.of(), modulesToSave, baseModelName);
    }
}
