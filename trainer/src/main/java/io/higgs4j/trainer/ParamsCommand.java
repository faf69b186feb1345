package io.higgs4j.trainer;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Tensor;
import io.higgs4j.trainer.train.MemoryPlan;
import io.higgs4j.trainer.hub.ModelLocator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** Parameter statistics of a configuration, from its shape-only model (nothing is allocated). */
@Command(name = "params", mixinStandardHelpOptions = true,
        description = {"Print the parameter count of a Higgs Audio configuration and its breakdown, without allocating weights.",
                "With --lora_r, also the trainable and LoRA parameter counts of train's adapter for these LoRA options."})
public final class ParamsCommand implements Callable<Integer> {

    @Option(names = {"--config", "--config_path", "--config-path"}, required = true, paramLabel = "CONFIG",
            description = "a config.json, a model directory holding one, a preset (${COMPLETION-CANDIDATES}), or a Hugging Face id "
                    + "owner/name[@revision] (its config fetched into the Hugging Face cache)",
            completionCandidates = Presets.class)
    String config;

    /** train's LoRA options and defaults; LoRA statistics are printed when --lora_r is given. */
    @picocli.CommandLine.Mixin LoraOptions lora;

    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--memory", description = "also print the memory a training step needs per device (weights, trainable weights, gradients, optimizer state, activations)")
    boolean memory;

    @Option(names = {"--batch_size", "--batch-size"}, defaultValue = "1", description = "with --memory: samples per micro-batch (default: ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = {"--seq_len", "--seq-len"}, defaultValue = "2048", description = "with --memory: merged tokens per sample (default: ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = {"--gradient_checkpointing", "--gradient-checkpointing"}, description = "with --memory: plan for train --gradient_checkpointing")
    boolean gradientCheckpointing;

    @Option(names = "--dtype", defaultValue = "bf16", description = "with --memory: the frozen base's dtype, bf16 or fp32 (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--finetune", defaultValue = "lora", description = "with --memory: lora or full (default: ${DEFAULT-VALUE})")
    String finetune;

    @Option(names = "--device", defaultValue = "cuda", description = "with --memory: plan for cuda (its context counted) or cpu (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--nproc", defaultValue = "1", description = "with --memory: data-parallel processes, one device each (default: ${DEFAULT-VALUE})")
    int nproc;

    static final class Presets extends java.util.ArrayList<String> {
        Presets() { super(HiggsAudioConfig.PRESETS); }
    }

    private picocli.CommandLine.ParameterException bad(String message) {
        return new picocli.CommandLine.ParameterException(spec.commandLine(), message);
    }

    @Override
    public Integer call() throws Exception {
        lora.validate(spec.commandLine());
        var parsed = spec.commandLine().getParseResult();
        boolean withLora = parsed.hasMatchedOption("--lora_r");
        if (!memory) {
            for (String o : List.of("--batch_size", "--seq_len", "--gradient_checkpointing", "--dtype", "--finetune", "--device", "--nproc")) {
                if (parsed.hasMatchedOption(o)) throw bad(o + " is a --memory option: add --memory");
            }
        }
        if (memory && (long) batchSize * seqLen > Integer.MAX_VALUE) {
            throw bad("--batch_size " + batchSize + " x --seq_len " + seqLen
                    + " is more than 2^31 tokens per micro-batch");
        }
        HiggsAudioConfig c = HiggsAudioConfig.resolve(ModelLocator.locate(config, ModelLocator.Kind.MODEL_CONFIG));
        print(c, System.out, withLora ? "Base model parameters: " : "Total parameters: ");
        LoraConfig lc = lora.config(lora.modulesToSaveExpanded(), null);
        if (withLora) printLora(c, lc, System.out);
        if (memory) {
            MemoryPlan.Finetune f;
            DType d;
            try {
                f = MemoryPlan.Finetune.parse(finetune);
                d = SharedOptions.dtype(dtype);
            } catch (IllegalArgumentException e) {
                throw bad(e.getMessage());
            }
            if (!device.equals("cuda") && !device.equals("cpu")) {
                throw bad("--device must be cuda or cpu, got '" + device + "'");
            }
            MemoryPlan.Request r = new MemoryPlan.Request(c, f, lc, d, batchSize, seqLen, gradientCheckpointing, nproc, device.equals("cuda"));
            System.out.print(MemoryPlan.estimate(r).describe(r));
        }
        return 0;
    }

    /** PEFT's statistics of the LoRA-wrapped shape-only model. */
    static void printLora(HiggsAudioConfig c, LoraConfig lc, PrintStream out) {
        try (HiggsAudioModel model = HiggsAudioModel.shapeOnly(c); LoraModel lora = LoraModel.apply(model, lc, Init.meta())) {
            LoraModel.Stats st = lora.stats();
            out.println("With LoRA r=" + lc.r() + ", alpha=" + fmt(lc.alpha()) + ", targets " + lc.targetModules()
                    + (lc.modulesToSave().isEmpty() ? "" : ", modules_to_save " + lc.modulesToSave()) + ":");
            out.println("Total parameters: " + thousands(st.total()));
            out.printf(Locale.ROOT, "Trainable parameters: %s (%.2f%%)%n", thousands(st.trainable()), st.trainablePercent());
            out.printf(Locale.ROOT, "LoRA parameters: %s (%.2f%%)%n", thousands(st.lora()), st.loraPercent());
            out.println("LoRA-wrapped modules: " + st.wrappedModules());
        }
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    /** Component of a parameter name, in the order printed. */
    static String component(String name) {
        if (name.startsWith("embed_tokens.")) return "text embedding (embed_tokens)";
        if (name.startsWith("audio_codebook_embeddings.") || name.matches("layers\\.\\d+\\.audio_.*")) {
            return "audio adapter (audio_mlp, audio norms, audio_codebook_embeddings)";
        }
        if (name.startsWith("layers.")) return "text layers (attention, mlp, norms)";
        if (name.startsWith("audio_decoder_proj.")) return "heads (text_lm_head, audio_lm_head)";
        return "final norm";
    }

    static void print(HiggsAudioConfig c, PrintStream out) {
        print(c, out, "Total parameters: ");
    }

    static void print(HiggsAudioConfig c, PrintStream out, String totalLabel) {
        Map<String, Long> parts = new LinkedHashMap<>();
        for (String k : new String[] {"text embedding (embed_tokens)", "text layers (attention, mlp, norms)",
                "audio adapter (audio_mlp, audio norms, audio_codebook_embeddings)", "heads (text_lm_head, audio_lm_head)", "final norm"}) {
            parts.put(k, 0L);
        }
        long total = 0;
        try (HiggsAudioModel model = HiggsAudioModel.shapeOnly(c)) {
            for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
                long n = e.getValue().numel();
                parts.merge(component(e.getKey()), n, Long::sum);
                total += n;
            }
        }
        out.printf(Locale.ROOT, "Model: %s adapter, %d layers, hidden %d, vocabulary %d, %d codebooks of %d%n",
                c.audioAdapterType(), c.textConfig().numHiddenLayers(), c.textConfig().hiddenSize(), c.textConfig().vocabSize(),
                c.audioNumCodebooks(), c.audioCodebookSize());
        out.println(totalLabel + thousands(total));
        for (Map.Entry<String, Long> e : parts.entrySet()) {
            out.printf(Locale.ROOT, "  %-70s %s%n", e.getKey() + ":", thousands(e.getValue()));
        }
    }

    static String thousands(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }
}
