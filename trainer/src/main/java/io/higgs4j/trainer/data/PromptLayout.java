package io.higgs4j.trainer.data;

import java.util.Locale;

/**
 * How a reference/target voice-cloning sample is laid out as turns, in training and in generation prompts alike, so
 * that an adapter is used with the prompt it was trained on.
 */
public enum PromptLayout {
    /**
     * As the official examples/generation.py prompts: (the sample's own system message, if any), user: the reference
     * transcript, assistant: the reference audio as an audio-out clip (not trained on), user: the target text,
     * assistant: the target audio.
     */
    OFFICIAL,
    /**
     * This project's: system (the sample's own, or {@link ChatMlReader#VOICE_CLONING_SYSTEM_PROMPT}), user: the
     * reference transcript, the reference audio as an audio-in clip and {@link ChatMlReader#VOICE_CLONING_REQUEST}
     * with the target text, assistant: the target audio.
     */
    TRAIN;

    /** The help of every --prompt_layout option (picocli adds the default). */
    public static final String OPTION_HELP = "how voice-cloning samples become turns, in training data and in generation prompts alike: "
            + "official (as the official examples/generation.py prompts: the reference as an earlier assistant audio-out turn, not "
            + "trained on) or train (this project's: the reference as user audio-in); generate with the layout the adapter was trained "
            + "with (default: ${DEFAULT-VALUE})";

    /** official or train (the option's value). */
    public static PromptLayout parse(String value) {
        return switch (value == null ? "" : value.toLowerCase(Locale.ROOT)) {
            case "official" -> OFFICIAL;
            case "train" -> TRAIN;
            default -> throw new IllegalArgumentException("--prompt_layout must be official or train, got '" + value + "'");
        };
    }

    public String optionValue() {
        return name().toLowerCase(Locale.ROOT);
    }
}
