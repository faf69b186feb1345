package io.higgs4j.trainer;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * The --modules_to_save presets, for train and params. {@code seed}: both heads and the codebook embeddings, the seed
 * run's configuration (the 394M-parameter text head trained in full); {@code audio}: the audio head and the codebook
 * embeddings only, the text head frozen, for 24 GB cards; {@code none}. Presets and module names may be mixed.
 */
final class ModulesToSave {
    static final String TEXT_HEAD = "audio_decoder_proj.text_lm_head";
    static final String AUDIO_HEAD = "audio_decoder_proj.audio_lm_head";
    static final String CODEBOOKS = "audio_codebook_embeddings";

    static final String OPTION_HELP = "modules trained in full, comma separated: module names or the presets seed ("
            + TEXT_HEAD + ", " + AUDIO_HEAD + ", " + CODEBOOKS + "), audio (" + AUDIO_HEAD + ", " + CODEBOOKS
            + ": the text head stays frozen) or none";

    private ModulesToSave() {}

    static List<String> expand(List<String> entries) {
        LinkedHashSet<String> out = new LinkedHashSet<>();
        for (String e : entries) {
            String name = e.trim();
            switch (name) {
                case "seed" -> out.addAll(List.of(TEXT_HEAD, AUDIO_HEAD, CODEBOOKS));
                case "audio" -> out.addAll(List.of(AUDIO_HEAD, CODEBOOKS));
                case "none" -> { }
                case "" -> throw new IllegalArgumentException("--modules_to_save has an empty entry: " + entries);
                default -> out.add(name);
            }
        }
        return new ArrayList<>(out);
    }
}
