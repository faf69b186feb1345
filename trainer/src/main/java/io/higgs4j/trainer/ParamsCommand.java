package io.higgs4j.trainer;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.torch.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** Parameter statistics of a configuration, from its shape-only model (nothing is allocated). */
@Command(name = "params", mixinStandardHelpOptions = true,
        description = "Print the parameter count of a Higgs Audio configuration and its breakdown, without allocating weights.")
public final class ParamsCommand implements Callable<Integer> {

    @Option(names = {"--config", "--config_path", "--config-path"}, required = true, paramLabel = "CONFIG",
            description = "a config.json, a model directory holding one, or a preset (${COMPLETION-CANDIDATES})",
            completionCandidates = Presets.class)
    String config;

    static final class Presets extends java.util.ArrayList<String> {
        Presets() { super(HiggsAudioConfig.PRESETS); }
    }

    @Override
    public Integer call() throws Exception {
        print(HiggsAudioConfig.resolve(config), System.out);
        return 0;
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
        out.println("Total parameters: " + thousands(total));
        for (Map.Entry<String, Long> e : parts.entrySet()) {
            out.printf(Locale.ROOT, "  %-70s %s%n", e.getKey() + ":", thousands(e.getValue()));
        }
    }

    static String thousands(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }
}
