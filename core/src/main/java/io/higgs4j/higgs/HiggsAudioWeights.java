package io.higgs4j.higgs;

import io.higgs4j.nn.Module;
import io.higgs4j.safetensors.SafetensorsCheckpoint;
import io.higgs4j.io.CheckpointReader;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * Loads a checkpoint (safetensors, or any {@link CheckpointReader}) into a module, checking every key first: nothing is copied unless every parameter has exactly one
 * source of the right shape and a floating-point dtype, and the checkpoint has nothing the module lacks. Checkpoints
 * whose embeddings or linears are split into {@code *.embedding_frozen / *.embedding_trainable} or
 * {@code *.linear_frozen / *.linear_trainable} pieces are merged (frozen rows first) into the plain name.
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

    /** Loads every parameter of module from the checkpoint entries of the same names, with the same checks. */
    public static void load(Module module, CheckpointReader ckpt) {
        load(module, ckpt, "", UnaryOperator.identity());
    }

    /**
     * Loads every parameter of module from the checkpoint entries that rename maps onto it, with the same checks.
     * Module parameters are known as prefix + their name (in the matching and in messages); rename takes a checkpoint
     * name (split halves already merged into their plain name) to such a full name, or to null for an entry that does
     * not concern this module (it is ignored, not reported as unexpected). Two entries mapped onto one name are an error.
     */
    public static void load(Module module, CheckpointReader ckpt, String prefix, UnaryOperator<String> rename) {
        Map<String, Tensor> params = new LinkedHashMap<>();
        module.namedParameters().forEach((n, t) -> params.put(prefix + n, t));
        List<String> problems = new ArrayList<>();
        Map<String, List<String>> sources = new TreeMap<>();
        Map<String, String> mappedFrom = new TreeMap<>();
        sources(ckpt.names()).forEach((plain, src) -> {
            String target = rename.apply(plain);
            if (target == null) return;
            String earlier = mappedFrom.putIfAbsent(target, plain);
            if (earlier != null) problems.add("checkpoint entries " + earlier + " and " + plain + " both map to " + target);
            else sources.put(target, src);
        });
        TreeSet<String> missing = new TreeSet<>(params.keySet());
        missing.removeAll(sources.keySet());
        TreeSet<String> unexpected = new TreeSet<>(sources.keySet());
        unexpected.removeAll(params.keySet());
        if (!missing.isEmpty()) problems.add("missing " + missing.size() + " keys: " + first(missing));
        if (!unexpected.isEmpty()) problems.add("unexpected " + unexpected.size() + " keys: " + first(unexpected));
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            List<String> src = sources.get(e.getKey());
            if (src == null) continue;
            long[] shape = shapeOf(ckpt, src);
            long[] want = e.getValue().shape();
            if (!Arrays.equals(shape, want)) {
                problems.add(e.getKey() + ": checkpoint shape " + Arrays.toString(shape) + ", model shape " + Arrays.toString(want));
            }
            for (String s : src) {
                DType dtype = ckpt.dtype(s);
                if (!dtype.isFloatingPoint()) problems.add(s + ": dtype " + dtype + " is not floating point");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("checkpoint " + ckpt.path() + " does not fit the model: " + String.join("; ", problems));
        }
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            Tensor p = e.getValue();
            try (Scope s = Scope.open(); var g = Torch.noGrad()) {
                List<String> src = sources.get(e.getKey());
                List<Tensor> pieces = new ArrayList<>();
                for (String n : src) pieces.add(ckpt.load(n, p.dtype()));
                Tensor value = pieces.size() == 1 ? pieces.getFirst() : Tensor.cat(pieces, 0);
                p.copy_(value);
            }
        }
    }

    private static long[] shapeOf(CheckpointReader ckpt, List<String> src) {
        long[] shape = ckpt.shape(src.getFirst());
        for (int i = 1; i < src.size(); i++) {
            long[] other = ckpt.shape(src.get(i));
            if (other.length != shape.length || other.length == 0) return other;
            shape[0] += other[0];
        }
        return shape;
    }

    private static String first(TreeSet<String> names) {
        List<String> l = new ArrayList<>(names);
        return l.size() <= 8 ? l.toString() : l.subList(0, 8) + " and " + (l.size() - 8) + " more";
    }

    /** Every parameter as a map for the writer (shared tensors: the writer copies them out). */
    public static Map<String, Tensor> stateDict(Module module) {
        return new LinkedHashMap<>(module.namedParameters());
    }
}
