package io.higgs4j.json;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Typed, strict access to the fields of one JSON object read from a user's file (a config.json, adapter_config.json,
 * trainer_state.json...). A field that is present must have the JSON type asked for: {@code "r": "sixteen"} or
 * {@code "hidden_size": 64.5} where an integer is read is an error naming the key, never a silent 0, default or
 * truncation. Absent fields and JSON null take the caller's default (Hugging Face and PEFT write null for "not set").
 * Errors are made by the caller's factory, so each reader keeps its own exception type and file name.
 */
public final class JsonFields {
    private final JsonNode node;
    private final String prefix;
    private final Function<String, ? extends RuntimeException> error;

    private JsonFields(JsonNode node, String prefix, Function<String, ? extends RuntimeException> error) {
        this.node = node;
        this.prefix = prefix;
        this.error = error;
    }

    /**
     * Why a file is not valid JSON, in one line: "Unexpected end-of-input in field name at line 7, column 7". Jackson's
     * own message adds a second line about the source, which it does not name (REDACTED); the caller names the file.
     */
    public static String syntaxError(java.io.IOException e) {
        if (!(e instanceof com.fasterxml.jackson.core.JsonProcessingException j)) return e.getMessage();
        var at = j.getLocation();
        return j.getOriginalMessage() + (at != null && at.getLineNr() > 0 ? " at line " + at.getLineNr() + ", column " + at.getColumnNr() : "");
    }

    /** The fields of root, which must be a JSON object; error turns a message into the exception to throw. */
    public static JsonFields of(JsonNode root, Function<String, ? extends RuntimeException> error) {
        if (root == null || !root.isObject()) throw error.apply("must hold a JSON object, got " + describe(root));
        return new JsonFields(root, "", error);
    }

    /** The key as messages give it: nested keys with their parents, "text_config.hidden_size". */
    public String name(String key) {
        return prefix + key;
    }

    /** The error the caller's factory makes for a message about key. */
    public RuntimeException error(String key, String message) {
        return error.apply(name(key) + " " + message);
    }

    /** Present and not null. */
    public boolean has(String key) {
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    /** The raw value (null when absent or JSON null), for fields that accept more than one type. */
    public JsonNode raw(String key) {
        return has(key) ? node.get(key) : null;
    }

    /** A nested object, or empty when absent or null; any other type is an error. */
    public Optional<JsonFields> object(String key) {
        JsonNode v = raw(key);
        if (v == null) return Optional.empty();
        if (!v.isObject()) throw wrongType(key, "an object", v);
        return Optional.of(new JsonFields(v, name(key) + ".", error));
    }

    public JsonFields requiredObject(String key) {
        return object(key).orElseThrow(() -> error(key, "is missing"));
    }

    public int intOr(String key, int fallback) {
        return has(key) ? requiredInt(key) : fallback;
    }

    public int requiredInt(String key) {
        JsonNode v = required(key);
        if (!v.isIntegralNumber()) throw wrongType(key, "an integer", v);
        if (!v.canConvertToInt()) throw wrongType(key, "an integer from " + Integer.MIN_VALUE + " to " + Integer.MAX_VALUE, v);
        return v.intValue();
    }

    public long longOr(String key, long fallback) {
        return has(key) ? requiredLong(key) : fallback;
    }

    public long requiredLong(String key) {
        JsonNode v = required(key);
        if (!v.isIntegralNumber()) throw wrongType(key, "an integer", v);
        if (!v.canConvertToLong()) throw wrongType(key, "an integer from " + Long.MIN_VALUE + " to " + Long.MAX_VALUE, v);
        return v.longValue();
    }

    public double doubleOr(String key, double fallback) {
        return has(key) ? requiredDouble(key) : fallback;
    }

    /** Any JSON number, finite (Jackson refuses NaN and Infinity tokens, but 1e999 parses as infinity). */
    public double requiredDouble(String key) {
        JsonNode v = required(key);
        if (!v.isNumber() || !Double.isFinite(v.doubleValue())) throw wrongType(key, "a finite number", v);
        return v.doubleValue();
    }

    public boolean boolOr(String key, boolean fallback) {
        if (!has(key)) return fallback;
        JsonNode v = node.get(key);
        if (!v.isBoolean()) throw wrongType(key, "true or false", v);
        return v.booleanValue();
    }

    public String stringOr(String key, String fallback) {
        return has(key) ? requiredString(key) : fallback;
    }

    public String requiredString(String key) {
        JsonNode v = required(key);
        if (!v.isTextual()) throw wrongType(key, "a string", v);
        return v.textValue();
    }

    /** A list of strings, or null when absent or null. */
    public List<String> strings(String key) {
        JsonNode v = raw(key);
        if (v == null) return null;
        if (!v.isArray()) throw wrongType(key, "a list of strings", v);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isTextual()) throw wrongType(key + "[" + i + "]", "a string", v.get(i));
            out.add(v.get(i).textValue());
        }
        return out;
    }

    /** A list of integers, or null when absent or null. */
    public List<Integer> ints(String key) {
        JsonNode v = raw(key);
        if (v == null) return null;
        if (!v.isArray()) throw wrongType(key, "a list of integers", v);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode x = v.get(i);
            if (!x.isIntegralNumber() || !x.canConvertToInt()) throw wrongType(key + "[" + i + "]", "an integer", x);
            out.add(x.intValue());
        }
        return out;
    }

    public int[] intsOr(String key, int[] fallback) {
        List<Integer> l = ints(key);
        return l == null ? fallback : l.stream().mapToInt(Integer::intValue).toArray();
    }

    private JsonNode required(String key) {
        if (!has(key)) throw error(key, node.has(key) ? "must not be null" : "is missing");
        return node.get(key);
    }

    private RuntimeException wrongType(String key, String expected, JsonNode v) {
        return error(key, "must be " + expected + ", got " + describe(v));
    }

    /** A value as a message shows it: its JSON text (cut short) and its type. */
    public static String describe(JsonNode v) {
        if (v == null || v.isMissingNode()) return "nothing";
        if (v.isNull()) return "null";
        String text = v.toString();
        if (text.length() > 60) text = text.substring(0, 57) + "...";
        String type = v.isTextual() ? "a string" : v.isIntegralNumber() ? "an integer" : v.isNumber() ? "a number"
                : v.isBoolean() ? "a boolean" : v.isArray() ? "a list" : "an object";
        return v.isContainerNode() ? type : text + " (" + type + ")";
    }
}
