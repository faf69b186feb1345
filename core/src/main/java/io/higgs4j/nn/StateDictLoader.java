package io.higgs4j.nn;

import io.higgs4j.io.CheckpointReader;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.UnaryOperator;

/**
 * Loads a checkpoint (any {@link CheckpointReader}: safetensors, torch.save) into a module's parameters by name,
 * checking every key before copying anything: each parameter must have exactly one source, of the parameter's shape
 * and of a dtype it can take (any floating-point dtype for a floating-point parameter, converted as torch's
 * {@code .to} rounds; the same dtype otherwise), and the checkpoint must hold nothing the module lacks. When a check
 * fails the message names the checkpoint file and every key at fault, and the module keeps its values: a half-loaded
 * model would train or generate without complaint.
 * <p>
 * Values are copied into the tensors the module already holds, so their dtype, device and requires_grad stay the
 * module's. Model-specific naming (another library's prefixes, a released layout that splits a tensor into pieces)
 * is given as a rename and as {@code sources}; the checks are the same for every model.
 */
public final class StateDictLoader {

    private StateDictLoader() {}

    /** Loads every parameter of module from the checkpoint entries of the same names. */
    public static void load(Module module, CheckpointReader ckpt) {
        load(module, ckpt, "", UnaryOperator.identity());
    }

    /**
     * Loads every parameter of module from the checkpoint entries that rename maps onto it. Module parameters are
     * known as prefix + their name (in the matching and in messages); rename takes a checkpoint name to such a full
     * name, or to null for an entry that does not concern this module (it is ignored, not reported as unexpected).
     * Two entries mapped onto one name are an error.
     */
    public static void load(Module module, CheckpointReader ckpt, String prefix, UnaryOperator<String> rename) {
        Map<String, List<String>> sources = new LinkedHashMap<>();
        for (String n : ckpt.names()) sources.put(n, List.of(n));
        load(module, ckpt, prefix, rename, sources);
    }

    /**
     * The general form: sources gives, for each logical checkpoint name, the entries whose concatenation along
     * dimension 0 is its value (one entry for a plain checkpoint), and rename then maps the logical names as above.
     */
    public static void load(Module module, CheckpointReader ckpt, String prefix, UnaryOperator<String> rename,
                            Map<String, List<String>> sources) {
        Map<String, Parameter> params = module.namedParameterBoxes(prefix);
        List<String> problems = new ArrayList<>();
        Map<String, List<String>> byParameter = new TreeMap<>();
        Map<String, String> mappedFrom = new TreeMap<>();
        new TreeMap<>(sources).forEach((logical, src) -> {
            String target = rename.apply(logical);
            if (target == null) return;
            String earlier = mappedFrom.putIfAbsent(target, logical);
            if (earlier != null) problems.add("checkpoint entries " + earlier + " and " + logical + " both map to " + target);
            else byParameter.put(target, src);
        });
        TreeSet<String> missing = new TreeSet<>(params.keySet());
        missing.removeAll(byParameter.keySet());
        TreeSet<String> unexpected = new TreeSet<>(byParameter.keySet());
        unexpected.removeAll(params.keySet());
        if (!missing.isEmpty()) problems.add("missing " + missing.size() + " keys: " + first(missing));
        if (!unexpected.isEmpty()) problems.add("unexpected " + unexpected.size() + " keys: " + first(unexpected));
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            List<String> src = byParameter.get(e.getKey());
            if (src == null) continue;
            Tensor p = e.getValue().get();
            long[] shape = shapeOf(ckpt, src);
            long[] want = p.shape();
            if (!Arrays.equals(shape, want)) {
                problems.add(e.getKey() + ": checkpoint shape " + Arrays.toString(shape) + ", model shape " + Arrays.toString(want));
            }
            DType target = p.dtype();
            for (String s : src) {
                DType dtype = ckpt.dtype(s);
                if (target.isFloatingPoint() && !dtype.isFloatingPoint()) {
                    problems.add(s + ": dtype " + dtype + " is not floating point");
                } else if (!target.isFloatingPoint() && dtype != target) {
                    problems.add(s + ": checkpoint dtype " + dtype + ", model dtype " + target);
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("checkpoint " + ckpt.path() + " does not fit the model: " + String.join("; ", problems));
        }
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            Tensor p = e.getValue().get();
            try (Scope s = Scope.open(); var g = Torch.noGrad()) {
                List<Tensor> pieces = new ArrayList<>();
                for (String n : byParameter.get(e.getKey())) pieces.add(ckpt.load(n, p.dtype()));
                p.copy_(pieces.size() == 1 ? pieces.getFirst() : Tensor.cat(pieces, 0));
            }
        }
    }

    /** The shape of the concatenation of src along dimension 0 (a piece that cannot be concatenated gives its own). */
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
}
