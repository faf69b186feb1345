package io.higgs4j.trainer.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What validation found: sample counts, the count per {@link Reason} (every reason listed, zero included), hours of
 * reference audio (every clip not trained on: user/system audio, and assistant audio before start_index) and target
 * audio (the assistant audio that is trained on) in the valid samples, their speakers, and each invalid sample.
 * As JSON:
 * <pre>{"total": n, "valid": n, "invalid": n, "reasons": {"unparseable": n, ...},
 *  "hours": {"reference": x, "target": x, "total": x}, "speakers": {"name": samples, ...},
 *  "invalid_samples": [{"sample": id, "reason": key, "message": text}, ...]}</pre>
 */
public record ValidationReport(int total, int valid, Map<Reason, Integer> reasons, double referenceHours, double targetHours,
                               SortedMap<String, Integer> speakers, List<Invalid> invalidSamples) {

    /** One skipped sample. */
    public record Invalid(String sample, Reason reason, String message) { }

    public ValidationReport {
        EnumMap<Reason, Integer> all = new EnumMap<>(Reason.class);
        for (Reason r : Reason.values()) all.put(r, reasons.getOrDefault(r, 0));
        reasons = Collections.unmodifiableMap(all);
        speakers = Collections.unmodifiableSortedMap(new TreeMap<>(speakers));
        invalidSamples = List.copyOf(invalidSamples);
    }

    public int invalid() {
        return total - valid;
    }

    public int count(Reason r) {
        return reasons.get(r);
    }

    public double totalHours() {
        return referenceHours + targetHours;
    }

    public ObjectNode toJson() {
        ObjectNode root = new ObjectMapper().createObjectNode();
        root.put("total", total);
        root.put("valid", valid);
        root.put("invalid", invalid());
        ObjectNode rs = root.putObject("reasons");
        reasons.forEach((r, n) -> rs.put(r.key(), n));
        ObjectNode h = root.putObject("hours");
        h.put("reference", referenceHours);
        h.put("target", targetHours);
        h.put("total", totalHours());
        ObjectNode sp = root.putObject("speakers");
        speakers.forEach(sp::put);
        ArrayNode inv = root.putArray("invalid_samples");
        for (Invalid i : invalidSamples) inv.addObject().put("sample", i.sample()).put("reason", i.reason().key()).put("message", i.message());
        return root;
    }

    public void write(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), toJson());
    }

    /** The human summary: counts, reasons that occurred, hours, speakers. */
    public void print(PrintWriter out) {
        out.printf(Locale.ROOT, "Samples: %d total, %d valid, %d invalid%n", total, valid, invalid());
        reasons.forEach((r, n) -> {
            if (n > 0) out.printf(Locale.ROOT, "  %-24s %d%n", r.key() + ":", n);
        });
        out.printf(Locale.ROOT, "Audio in valid samples: %.3f h reference, %.3f h target, %.3f h total%n",
                referenceHours, targetHours, totalHours());
        if (speakers.isEmpty()) {
            out.println("Speakers: none named");
        } else {
            Map<String, Integer> shown = new LinkedHashMap<>();
            speakers.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).limit(20)
                    .forEach(e -> shown.put(e.getKey(), e.getValue()));
            StringBuilder sb = new StringBuilder();
            shown.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ", ").append(k).append(" (").append(v).append(")"));
            out.printf(Locale.ROOT, "Speakers: %d: %s%s%n", speakers.size(), sb, speakers.size() > shown.size() ? ", ..." : "");
        }
        out.flush();
    }
}
