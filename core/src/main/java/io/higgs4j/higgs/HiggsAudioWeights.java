package io.higgs4j.higgs;

import io.higgs4j.io.CheckpointReader;
import io.higgs4j.nn.Module;
import io.higgs4j.nn.StateDictLoader;
import io.higgs4j.safetensors.SafetensorsCheckpoint;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads a Higgs Audio checkpoint (safetensors, or any {@link CheckpointReader}) into a module with
 * {@link StateDictLoader}'s checks (nothing is copied unless every parameter has exactly one source of the right
 * shape and dtype, and the checkpoint has nothing the module lacks). What is Higgs-specific is the released layout's
 * split tensors: checkpoints whose embeddings or linears are split into {@code *.embedding_frozen / *.embedding_trainable}
 * or {@code *.linear_frozen / *.linear_trainable} pieces are merged (frozen rows first) into the plain name.
 */
public final class HiggsAudioWeights {

    private static final Pattern SPLIT = Pattern.compile("(.*)\\.(embedding|linear)_(frozen|trainable)\\.(weight|bias)");

    private HiggsAudioWeights() {}

    /** The checkpoint's pieces for each plain parameter name: one name, or the frozen and trainable halves in order. */
    static Map<String, List<String>> sources(List<String> checkpointNames) {
        Map<String, List<String>> out = new TreeMap<>();
        Map<String, String[]> split = new TreeMap<>();
        for (String n : checkpointNames) {
            Matcher m = SPLIT.matcher(n);
            if (m.matches()) {
                String[] halves = split.computeIfAbsent(m.group(1) + "." + m.group(4), k -> new String[2]);
                halves[m.group(3).equals("frozen") ? 0 : 1] = n;
            } else {
                out.put(n, List.of(n));
            }
        }
        split.forEach((plain, halves) -> {
            if (halves[0] == null || halves[1] == null) {
                throw new IllegalArgumentException("checkpoint has " + (halves[0] != null ? halves[0] : halves[1])
                        + " without its " + (halves[0] == null ? "frozen" : "trainable") + " counterpart");
            }
            if (out.containsKey(plain)) throw new IllegalArgumentException("checkpoint has both " + plain + " and its split halves");
            out.put(plain, List.of(halves[0], halves[1]));
        });
        return out;
    }

    /** Loads every parameter of module from the checkpoint at path (a file, a directory or an index.json). */
    public static void load(Module module, Path path) {
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(path)) {
            load(module, ckpt);
        }
    }

    /** Loads every parameter of module from the checkpoint entries of the same names (split halves merged). */
    public static void load(Module module, CheckpointReader ckpt) {
        load(module, ckpt, "", UnaryOperator.identity());
    }

    /**
     * Loads every parameter of module from the checkpoint entries that rename maps onto it, split halves merged into
     * their plain name before rename sees it; see {@link StateDictLoader#load(Module, CheckpointReader, String, UnaryOperator)}.
     */
    public static void load(Module module, CheckpointReader ckpt, String prefix, UnaryOperator<String> rename) {
        StateDictLoader.load(module, ckpt, prefix, rename, sources(ckpt.names()));
    }
}
