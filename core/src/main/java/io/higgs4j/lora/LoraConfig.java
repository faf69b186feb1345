package io.higgs4j.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.higgs4j.json.JsonFields;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A LoRA configuration with PEFT's meaning for every field, read from and written to PEFT's adapter_config.json.
 * Targets are module-name suffixes (a module matches when its name equals one or ends with "." + one) or, with
 * {@code targetRegex}, a regular expression the whole module name must match.
 */
public record LoraConfig(int r, double alpha, double dropout, boolean useRslora, List<String> targetModules,
                         String targetRegex, List<Integer> layersToTransform, List<String> excludeModules,
                         List<String> modulesToSave, String baseModelNameOrPath) {

    /** Target presets by name; "comprehensive" is attention + mlp + audio. */
    public static final Map<String, List<String>> PRESETS;
    static {
        Map<String, List<String>> p = new LinkedHashMap<>();
        p.put("attention", List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj"));
        p.put("mlp", List.of("mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"));
        p.put("audio", List.of("audio_mlp.gate_proj", "audio_mlp.up_proj", "audio_mlp.down_proj"));
        List<String> all = new ArrayList<>();
        p.values().forEach(all::addAll);
        p.put("comprehensive", List.copyOf(all));
        PRESETS = java.util.Collections.unmodifiableMap(p);
    }

    private static final Pattern LAYER = Pattern.compile(".*\\.layers\\.(\\d+)\\..*|^layers\\.(\\d+)\\..*");

    public LoraConfig {
        if (r < 1) throw new IllegalArgumentException("lora r must be >= 1, got " + r);
        if (!(alpha > 0)) throw new IllegalArgumentException("lora alpha must be > 0, got " + alpha);
        if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("lora dropout must be in [0, 1), got " + dropout);
        if ((targetModules == null || targetModules.isEmpty()) == (targetRegex == null)) {
            throw new IllegalArgumentException("give either target modules or a target regex");
        }
        if (targetRegex != null) {
            try {
                Pattern.compile(targetRegex);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("target regex '" + targetRegex + "' is invalid: " + e.getDescription());
            }
        }
        targetModules = targetModules == null ? List.of() : List.copyOf(targetModules);
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
        excludeModules = excludeModules == null ? List.of() : List.copyOf(excludeModules);
        modulesToSave = modulesToSave == null ? List.of() : List.copyOf(modulesToSave);
    }

    /** The usual voice-cloning setup: targets by preset name(s) or suffixes, "a,b" lists allowed. */
    public static LoraConfig of(int r, double alpha, double dropout, String targets, List<String> modulesToSave) {
        return new LoraConfig(r, alpha, dropout, false, targets(targets), null, null, List.of(), modulesToSave, null);
    }

    /** A preset name, or a comma-separated list of presets and module-name suffixes. */
    public static List<String> targets(String spec) {
        List<String> out = new ArrayList<>();
        for (String part : spec.split(",")) {
            String t = part.trim();
            if (t.isEmpty()) continue;
            List<String> preset = PRESETS.get(t);
            if (preset != null) preset.forEach(x -> { if (!out.contains(x)) out.add(x); });
            else if (!out.contains(t)) out.add(t);
        }
        if (out.isEmpty()) throw new IllegalArgumentException("no LoRA targets in '" + spec + "'; presets: " + PRESETS.keySet());
        return List.copyOf(out);
    }

    /** alpha / r, or alpha / sqrt(r) with rsLoRA. */
    public double scaling() {
        return useRslora ? alpha / Math.sqrt(r) : alpha / r;
    }

    /** PEFT's rule: the regex must match the whole name; otherwise equal to or ending with "." + a target. */
    public boolean isTarget(String moduleName) {
        boolean found = targetRegex != null ? Pattern.matches(targetRegex, moduleName) : matchesSuffix(moduleName, targetModules);
        if (!found) return false;
        if (matchesSuffix(moduleName, excludeModules)) return false;
        if (layersToTransform != null) {
            Matcher m = LAYER.matcher(moduleName);
            if (!m.matches()) return false;
            int layer = Integer.parseInt(m.group(1) != null ? m.group(1) : m.group(2));
            return layersToTransform.contains(layer);
        }
        return true;
    }

    /** PEFT's modules_to_save rule: the module name ends with one of the entries. */
    public boolean isModuleToSave(String moduleName) {
        for (String k : modulesToSave) if (moduleName.endsWith(k)) return true;
        return false;
    }

    private static boolean matchesSuffix(String name, List<String> suffixes) {
        for (String t : suffixes) if (name.equals(t) || name.endsWith("." + t)) return true;
        return false;
    }

    // ---- PEFT's adapter_config.json ----

    /** This configuration as PEFT's adapter_config.json. */
    public ObjectNode toAdapterConfig() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("peft_type", "LORA");
        n.putNull("task_type");
        n.put("r", r);
        n.put("lora_alpha", alpha);
        n.put("lora_dropout", dropout);
        if (targetRegex != null) n.put("target_modules", targetRegex);
        else targetModules.forEach(n.putArray("target_modules")::add);
        if (modulesToSave.isEmpty()) n.putNull("modules_to_save");
        else modulesToSave.forEach(n.putArray("modules_to_save")::add);
        if (layersToTransform == null) n.putNull("layers_to_transform");
        else layersToTransform.forEach(n.putArray("layers_to_transform")::add);
        n.put("layers_pattern", layersToTransform == null ? null : "layers");
        if (excludeModules.isEmpty()) n.putNull("exclude_modules");
        else excludeModules.forEach(n.putArray("exclude_modules")::add);
        n.put("use_rslora", useRslora);
        n.put("use_dora", false);
        n.put("bias", "none");
        n.put("fan_in_fan_out", false);
        n.put("init_lora_weights", true);
        n.put("inference_mode", true);
        if (baseModelNameOrPath == null) n.putNull("base_model_name_or_path");
        else n.put("base_model_name_or_path", baseModelNameOrPath);
        n.putObject("rank_pattern");
        n.putObject("alpha_pattern");
        return n;
    }

    /**
     * Reads PEFT's adapter_config.json; refuses what LoRA here does not do (DoRA, biases, per-module ranks). Every
     * field read must have PEFT's JSON type: a wrong one is an error naming the key, never a default.
     */
    public static LoraConfig fromAdapterConfig(JsonNode json) {
        JsonFields n = JsonFields.of(json, IllegalArgumentException::new);
        String type = n.stringOr("peft_type", "LORA");
        if (!type.equals("LORA")) throw new IllegalArgumentException("peft_type " + type + " is not LORA");
        if (n.boolOr("use_dora", false)) throw new IllegalArgumentException("use_dora = true is not supported");
        String bias = n.stringOr("bias", "none");
        if (!bias.equals("none")) throw new IllegalArgumentException("bias '" + bias + "' is not supported (only none)");
        if (n.boolOr("fan_in_fan_out", false)) throw new IllegalArgumentException("fan_in_fan_out = true is not supported");
        for (String k : new String[] {"rank_pattern", "alpha_pattern"}) {
            if (n.object(k).map(o -> json.get(k).size() > 0).orElse(false)) throw new IllegalArgumentException(k + " is not supported");
        }
        int r = n.requiredInt("r");
        JsonNode t = n.raw("target_modules");
        List<String> targets = null;
        String regex = null;
        if (t != null && t.isTextual()) regex = t.textValue();
        else if (t != null && t.isArray()) targets = n.strings("target_modules");
        else throw n.error("target_modules", "must be a list of module names or a regex string, got " + JsonFields.describe(t));
        List<Integer> layers = null;
        JsonNode l = n.raw("layers_to_transform");
        if (l != null && !l.isArray()) layers = List.of(n.intOr("layers_to_transform", 0));
        else if (l != null) layers = n.ints("layers_to_transform");
        if (n.raw("exclude_modules") != null && n.raw("exclude_modules").isTextual()) {
            throw new IllegalArgumentException("exclude_modules as a regex string is not supported (give a list of module names)");
        }
        List<String> exclude = n.strings("exclude_modules");
        List<String> save = n.strings("modules_to_save");
        return new LoraConfig(r, n.doubleOr("lora_alpha", 8), n.doubleOr("lora_dropout", 0), n.boolOr("use_rslora", false),
                targets, regex, layers, exclude == null ? List.of() : exclude, save == null ? List.of() : save,
                n.stringOr("base_model_name_or_path", null));
    }

    /** This configuration with base_model_name_or_path set to path. */
    public LoraConfig withBaseModel(String path) {
        return new LoraConfig(r, alpha, dropout, useRslora, targetRegex == null ? targetModules : null, targetRegex,
                layersToTransform, excludeModules, modulesToSave, path);
    }

}
