package io.higgs4j.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.nn.Init;
import io.higgs4j.nn.Linear;
import io.higgs4j.nn.LoraAdapter;
import io.higgs4j.nn.Module;
import io.higgs4j.safetensors.SafetensorsFile;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * LoRA applied to a model, as PEFT does it: every targeted Linear gets a low-rank branch, every module of
 * modules_to_save gets a trainable copy of its parameters (the frozen originals are kept beside, for disabling and
 * unloading), and every other parameter is frozen. Saves and loads PEFT's adapter format.
 */
public final class LoraModel implements AutoCloseable {

    /** PEFT's prefix of every key in adapter_model.safetensors. */
    public static final String PREFIX = "base_model.model.";
    public static final String ADAPTER_FILE = "adapter_model.safetensors", CONFIG_FILE = "adapter_config.json";

    private final Module model;
    private final LoraConfig config;
    private final Map<String, Linear> wrapped = new LinkedHashMap<>();
    /** Full parameter name of each modules_to_save parameter -> its frozen original. */
    private final Map<String, Tensor> originals = new LinkedHashMap<>();

    private LoraModel(Module model, LoraConfig config) {
        this.model = model;
        this.config = config;
    }

    /**
     * Applies config to model. The LoRA weights take init's dtype and device (use the model's device; float32
     * adapters on a bf16 model are fine).
     */
    public static LoraModel apply(Module model, LoraConfig config, Init init) {
        LoraModel lora = new LoraModel(model, config);
        Map<String, Module> modules = model.namedModules();
        List<String> saved = new ArrayList<>();
        for (Map.Entry<String, Module> e : modules.entrySet()) {
            if (!e.getKey().isEmpty() && config.isModuleToSave(e.getKey())) saved.add(e.getKey());
        }
        for (String name : config.modulesToSave()) {
            if (saved.stream().noneMatch(s -> s.endsWith(name))) {
                throw new IllegalArgumentException("modules_to_save names " + name + ", which matches no module of the model");
            }
        }
        for (Map.Entry<String, Module> e : modules.entrySet()) {
            String name = e.getKey();
            if (!(e.getValue() instanceof Linear linear) || !config.isTarget(name)) continue;
            if (saved.stream().anyMatch(s -> name.equals(s) || name.startsWith(s + "."))) continue; // trained in full instead
            if (linear.lora() != null) throw new IllegalStateException(name + " already has a LoRA branch");
            lora.wrapped.put(name, linear);
        }
        if (lora.wrapped.isEmpty()) {
            throw new IllegalArgumentException("no module matches the LoRA targets " + (config.targetRegex() != null
                    ? "regex " + config.targetRegex() : config.targetModules()));
        }
        for (Tensor p : model.namedParameters().values()) {
            if (p.dtype().isFloatingPoint()) p.requiresGrad(false);
        }
        for (Map.Entry<String, Linear> e : lora.wrapped.entrySet()) {
            Linear l = e.getValue();
            LoraAdapter a = new LoraAdapter(l.inFeatures, l.outFeatures, config.r(), config.scaling(), config.dropout(), init);
            l.attachLora(a);
            a.loraA.weight().requiresGrad(true);
            a.loraB.weight().requiresGrad(true);
        }
        for (String name : saved) {
            Module m = modules.get(name);
            // The whole module is copied, as PEFT does: every parameter under it, children included.
            for (Map.Entry<String, Tensor> p : new ArrayList<>(m.namedParameters().entrySet())) {
                String full = name + "." + p.getKey();
                Tensor original = p.getValue();
                Tensor copy;
                try (var g = Torch.noGrad(); Scope sc = Scope.open()) {
                    // The trainable copy takes the adapter's dtype: float32 copies of a bf16 model's heads train well.
                    Tensor c = original.clone();
                    copy = Scope.disown(original.dtype().isFloatingPoint() && c.dtype() != init.dtype() ? c.to(init.dtype()) : c);
                }
                lora.originals.put(full, Scope.disown(original.share()));
                model.setParameter(full, copy.requiresGrad(original.dtype().isFloatingPoint()));
            }
        }
        return lora;
    }

    /** The LoRA configuration applied. */
    public LoraConfig config() { return config; }

    /** The wrapped model, whose targeted Linear layers now carry adapters. */
    public Module model() { return model; }

    /** The LoRA-wrapped linears by module name. */
    public Map<String, Linear> wrapped() { return java.util.Collections.unmodifiableMap(wrapped); }

    /** What training updates: every LoRA weight and every modules_to_save copy, by full parameter name. */
    public Map<String, Tensor> trainableParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        model.namedParameters().forEach((n, t) -> {
            if (isLoraParameter(n) || originals.containsKey(n)) out.put(n, t);
        });
        return out;
    }

    static boolean isLoraParameter(String name) {
        return name.endsWith(".lora_A.weight") || name.endsWith(".lora_B.weight");
    }

    /** Parameter counts as PEFT's print_trainable_parameters gives them (the frozen originals count in the total). */
    public record Stats(long total, long trainable, long lora, int wrappedModules) {
        /** Trainable parameters as a percentage of the total. */
        public double trainablePercent() { return 100.0 * trainable / total; }
        /** LoRA parameters as a percentage of the total. */
        public double loraPercent() { return 100.0 * lora / total; }
    }

    /** Parameter counts as PEFT reports them. */
    public Stats stats() {
        long total = 0, trainable = 0, loraCount = 0;
        for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
            long n = e.getValue().numel();
            total += n;
            if (isLoraParameter(e.getKey())) {
                loraCount += n;
                trainable += n;
            } else if (originals.containsKey(e.getKey())) {
                trainable += n;
            }
        }
        for (Tensor t : originals.values()) total += t.numel();
        return new Stats(total, trainable, loraCount, wrapped.size());
    }

    /** Folds every branch into its base weight (float32 math); forward is then as fast as the base model's. */
    public void merge() { wrapped.values().forEach(Linear::merge); }

    /** Subtracts the merged adapters from the base weights again. */
    public void unmerge() { wrapped.values().forEach(Linear::unmerge); }

    /**
     * false gives the base model's behaviour: branches off and the frozen originals of modules_to_save in place of the
     * copies; true restores the adapter. Merged branches must be unmerged first.
     */
    public void setEnabled(boolean enabled) {
        for (Linear l : wrapped.values()) {
            if (l.isMerged()) throw new IllegalStateException("unmerge before disabling the adapter");
            l.setLoraEnabled(enabled);
        }
        if (enabled == enabledCopies) return;
        // Swap each modules_to_save copy with its frozen original; the map then holds whichever is not in use.
        for (Map.Entry<String, Tensor> e : originals.entrySet()) e.setValue(model.exchangeParameter(e.getKey(), e.getValue()));
        enabledCopies = enabled;
    }

    private boolean enabledCopies = true;

    /** The adapter under PEFT's on-disk names (shared views of the live tensors). */
    public Map<String, Tensor> adapterStateDict() {
        if (!enabledCopies) throw new IllegalStateException("the adapter is disabled");
        Map<String, Tensor> out = new LinkedHashMap<>();
        trainableParameters().forEach((n, t) -> out.put(PREFIX + n, t));
        return out;
    }

    /** Writes adapter_model.safetensors and adapter_config.json into dir (each written atomically). */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        SafetensorsWriter.write(dir.resolve(ADAPTER_FILE), adapterStateDict(), Map.of("format", "pt"));
        Path tmp = io.higgs4j.io.TempSibling.file(dir.resolve(CONFIG_FILE));
        try {
            Files.writeString(tmp, new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(config.toAdapterConfig()));
            Files.move(tmp, dir.resolve(CONFIG_FILE), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Reads a PEFT adapter directory, applies its configuration to model and loads its weights, checking that the
     * adapter holds exactly the expected keys with the expected shapes (a wrong rank shows up here).
     */
    public static LoraModel load(Module model, Path dir, Init init) throws IOException {
        Path cfg = dir.resolve(CONFIG_FILE), weights = dir.resolve(ADAPTER_FILE);
        if (!Files.isRegularFile(cfg)) throw new IllegalArgumentException("no " + CONFIG_FILE + " in " + dir);
        if (!Files.isRegularFile(weights)) throw new IllegalArgumentException("no " + ADAPTER_FILE + " in " + dir);
        LoraConfig config = readConfig(cfg);
        LoraModel lora = apply(model, config, init);
        try {
            lora.loadWeights(weights);
        } catch (RuntimeException e) {
            lora.close();
            throw e;
        }
        return lora;
    }

    /** An adapter_config.json; every error names the file. */
    public static LoraConfig readConfig(Path file) throws IOException {
        JsonNode json;
        try {
            json = new ObjectMapper().readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getOriginalMessage());
        }
        try {
            return LoraConfig.fromAdapterConfig(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Copies an adapter_model.safetensors into this adapter's weights (resuming, or after {@link #load}), checking that
     * it holds exactly the expected keys with the expected shapes (a wrong rank shows up here). Nothing is copied when
     * a check fails.
     */
    public void loadWeights(Path weights) {
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            Map<String, Tensor> expected = adapterStateDict();
            TreeSet<String> missing = new TreeSet<>(expected.keySet());
            missing.removeAll(f.names());
            TreeSet<String> unexpected = new TreeSet<>(f.names());
            unexpected.removeAll(expected.keySet());
            List<String> problems = new ArrayList<>();
            if (!missing.isEmpty()) problems.add("missing keys " + missing);
            if (!unexpected.isEmpty()) problems.add("unexpected keys " + unexpected);
            for (Map.Entry<String, Tensor> e : expected.entrySet()) {
                if (!f.contains(e.getKey())) continue;
                long[] got = f.info(e.getKey()).shape(), want = e.getValue().shape();
                if (!Arrays.equals(got, want)) {
                    problems.add(e.getKey() + " has shape " + Arrays.toString(got) + " but the model expects " + Arrays.toString(want)
                            + (isLoraParameter(e.getKey().substring(PREFIX.length())) ? " (r = " + config.r() + " in " + CONFIG_FILE + ")" : ""));
                }
            }
            if (!problems.isEmpty()) {
                throw new IllegalArgumentException("adapter " + weights.getParent() + " does not fit the model: " + String.join("; ", problems));
            }
            for (Map.Entry<String, Tensor> e : expected.entrySet()) {
                try (Scope s = Scope.open(); var g = Torch.noGrad()) {
                    e.getValue().copy_(f.load(e.getKey(), e.getValue().dtype()));
                }
            }
        }
    }

    /**
     * Removes every branch and puts the frozen originals back (the base model again). With merge, the branches are
     * folded in first and the modules_to_save copies stay: the merged model of the reference's layout.
     */
    public void unload(boolean merge) {
        if (!enabledCopies) setEnabled(true);
        for (Linear l : wrapped.values()) {
            if (merge) l.merge();
            l.detachLora(merge);
        }
        wrapped.clear();
        for (Map.Entry<String, Tensor> e : originals.entrySet()) {
            if (merge) e.getValue().close();
            else model.setParameter(e.getKey(), e.getValue());
        }
        originals.clear();
    }

    @Override
    public void close() {
        originals.values().forEach(Tensor::close);
        originals.clear();
    }

}
