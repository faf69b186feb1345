package io.higgs4j.trainer.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class DataValidatorTest {

    static TextTokenizer tok;

    @BeforeAll
    static void load() {
        tok = TextTokenizer.load(Fixtures.tokenizerJson());
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    /**
     * A data set with two valid samples and one of every kind of bad sample, for K = 8, C = 1024, and limits
     * max_seq_len 400, clips 0.5 .. 10 s. Returns the data file.
     */
    static Path badDataSet(Path dir) throws Exception {
        Path data = dir.resolve("data");
        Fixtures.npy(dir.resolve("shared/ref_alice.npy"), Fixtures.codes(8, 50, 1));     // 2 s, beside the data dir
        Fixtures.npy(data.resolve("clips/alice_target.codes.npy"), Fixtures.codes(8, 75, 2)); // 3 s, found beside the audio
        Fixtures.npy(data.resolve("codes/b_in.npy"), Fixtures.codes(8, 25, 3));
        Fixtures.npy(data.resolve("clips/b_out.codes.npy"), Fixtures.codes(8, 25, 4));
        Fixtures.write(data.resolve("clips/exists.wav"), "RIFF");
        Fixtures.write(data.resolve("codes/corrupt.npy"), "\u0093NUMPY garbage");
        Fixtures.npy(data.resolve("codes/k4.npy"), Fixtures.codes(4, 25, 0));
        long[][] outOfRange = Fixtures.codes(8, 25, 0);
        outOfRange[6][20] = 1024;
        Fixtures.npy(data.resolve("codes/range.npy"), outOfRange);
        Fixtures.npy(data.resolve("codes/short.npy"), Fixtures.codes(8, 5, 0));    // 0.2 s
        Fixtures.npy(data.resolve("codes/long.npy"), Fixtures.codes(8, 300, 0));   // 12 s
        String user = "{\"role\": \"user\", \"content\": \"hello\"}";
        List<String> lines = List.of(
                // 1 valid: the voice-cloning shape, reference codes by audio_codes (relative, with ..), target beside its audio
                "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"hello world.\"}, "
                        + "{\"type\": \"audio\", \"audio_url\": \"clips/alice_ref.wav\", \"audio_codes\": \"../shared/ref_alice.npy\"}]}, "
                        + "{\"role\": \"assistant\", \"content\": [{\"type\": \"text\", \"text\": \"good morning.\"}, "
                        + "{\"type\": \"audio\", \"audio_url\": \"clips/alice_target.wav\"}]}], \"speaker\": \"alice\"}",
                // 2 valid: general ChatML
                "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"audio\", \"audio_codes\": \"codes/b_in.npy\"}]}, "
                        + "{\"role\": \"assistant\", \"content\": [{\"type\": \"text\", \"text\": \"yes\"}, "
                        + "{\"type\": \"audio\", \"audio_url\": \"clips/b_out.wav\"}]}], \"speaker\": \"bob\"}",
                // 3 unparseable
                "{\"messages\": [",
                // 4, 5 bad structure
                "{\"speaker\": \"x\"}",
                "{\"messages\": [{\"content\": \"no role\"}]}",
                // 6, 7 missing codes (audio missing too; audio present but no codes)
                "{\"messages\": [" + user + ", {\"role\": \"assistant\", \"content\": [{\"type\": \"audio\", \"audio_url\": \"clips/missing.wav\"}]}]}",
                "{\"messages\": [" + user + ", {\"role\": \"assistant\", \"content\": [{\"type\": \"audio\", \"audio_url\": \"clips/exists.wav\"}]}]}",
                // 8 unreadable (corrupt npy), 9 wrong K, 10 code out of range
                "{\"messages\": [" + user + ", {\"role\": \"assistant\", \"content\": [{\"type\": \"audio\", \"audio_codes\": \"codes/corrupt.npy\"}]}]}",
                "{\"messages\": [" + user + ", {\"role\": \"assistant\", \"content\": [{\"type\": \"audio\", \"audio_codes\": \"codes/k4.npy\"}]}]}",
                "{\"messages\": [" + user + ", {\"role\": \"assistant\", \"content\": [{\"type\": \"audio\", \"audio_codes\": \"codes/range.npy\"}]}]}",
                // 11 nothing supervised: the only assistant turn is before start_index
                "{\"messages\": [" + user + ", {\"role\": \"assistant\", \"content\": \"yes\"}], \"start_index\": 2}",
                // 12 too long: 401 text tokens of the assistant alone
                "{\"messages\": [" + user + ", {\"role\": \"assistant\", \"content\": \"" + "yes".repeat(1) + " yes".repeat(400) + "\"}]}",
                // 13 audio too short, 14 audio too long
                "{\"messages\": [" + user + ", {\"role\": \"assistant\", \"content\": [{\"type\": \"audio\", \"audio_codes\": \"codes/short.npy\"}]}]}",
                "{\"messages\": [" + user + ", {\"role\": \"assistant\", \"content\": [{\"type\": \"audio\", \"audio_codes\": \"codes/long.npy\"}]}]}");
        return Fixtures.write(data.resolve("train.jsonl"), String.join("\n", lines) + "\n");
    }

    static final ValidationOptions LIMITS = new ValidationOptions(400, 0.5, 10, 3);

    @Test
    void everyKindOfBadSampleIsCountedUnderItsReason(@TempDir Path dir) throws Exception {
        Path data = badDataSet(dir);
        ByteArrayOutputStream warnings = new ByteArrayOutputStream();
        DataValidator.Result r = new DataValidator(Fixtures.realConfig(), tok, LIMITS)
                .validate(data, new PrintWriter(warnings, true, StandardCharsets.UTF_8));
        ValidationReport rep = r.report();
        assertEquals(14, rep.total());
        assertEquals(2, rep.valid());
        assertEquals(12, rep.invalid());
        Map<Reason, Integer> expected = Map.of(Reason.UNPARSEABLE, 1, Reason.BAD_STRUCTURE, 2, Reason.MISSING_AUDIO_OR_CODES, 2,
                Reason.UNREADABLE_AUDIO, 1, Reason.WRONG_CODEBOOK_COUNT, 1, Reason.CODE_OUT_OF_RANGE, 1, Reason.NOTHING_SUPERVISED, 1,
                Reason.TOO_LONG, 1, Reason.AUDIO_TOO_SHORT, 1, Reason.AUDIO_TOO_LONG, 1);
        for (Reason reason : Reason.values()) assertEquals(expected.get(reason), rep.count(reason), reason.key());
        // Each invalid sample names its line and why.
        Map<String, String> byLine = new java.util.TreeMap<>();
        for (ValidationReport.Invalid i : rep.invalidSamples()) byLine.put(i.sample(), i.reason().key() + ": " + i.message());
        assertTrue(byLine.get("train.jsonl line 6").contains("and the audio file " + dir.resolve("data/clips/missing.wav")
                + " does not exist either"), byLine.get("train.jsonl line 6"));
        assertTrue(byLine.get("train.jsonl line 7").contains("the audio exists"), byLine.get("train.jsonl line 7"));
        assertTrue(byLine.get("train.jsonl line 8").startsWith("unreadable_audio: ") && byLine.get("train.jsonl line 8").contains("corrupt.npy"),
                byLine.get("train.jsonl line 8"));
        assertTrue(byLine.get("train.jsonl line 9").contains("has 4 codebooks"), byLine.get("train.jsonl line 9"));
        assertTrue(byLine.get("train.jsonl line 10").contains("code 1024 at codebook 6, frame 20; codes must be in 0..1023"),
                byLine.get("train.jsonl line 10"));
        assertTrue(byLine.get("train.jsonl line 12").contains("exceeds --max_seq_len 400"), byLine.get("train.jsonl line 12"));
        assertTrue(byLine.get("train.jsonl line 13").contains("lasts 0.20 s, under --min_audio_seconds 0.5"), byLine.get("train.jsonl line 13"));
        assertTrue(byLine.get("train.jsonl line 14").contains("lasts 12.00 s, over --max_audio_seconds 10"), byLine.get("train.jsonl line 14"));

        // The valid ones, encoded, in file order; hours from T / 25.
        assertEquals(List.of("train.jsonl line 1", "train.jsonl line 2"), r.samples().stream().map(EncodedSample::id).toList());
        assertEquals((50 + 25) / 25.0 / 3600, rep.referenceHours(), 1e-12);
        assertEquals((75 + 25) / 25.0 / 3600, rep.targetHours(), 1e-12);
        assertEquals(Map.of("alice", 1, "bob", 1), rep.speakers());
        assertEquals(75, r.samples().getFirst().audioOut().getFirst().codes().load()[0].length);
        assertEquals(dir.resolve("shared/ref_alice.npy"), r.samples().getFirst().audioIn().getFirst().codes().file());

        // Warnings: three in full, then one summary line.
        List<String> w = warnings.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(4, w.size(), String.join("\n", w));
        assertTrue(w.get(0).startsWith("warning: skipping train.jsonl line 3: unparseable: not valid JSON"), w.get(0));
        assertTrue(w.get(1).startsWith("warning: skipping train.jsonl line 4: bad structure: no \"messages\" field"), w.get(1));
        assertTrue(w.get(2).startsWith("warning: skipping train.jsonl line 5: bad structure: message 0 has no \"role\" string"), w.get(2));
        assertEquals("warning: skipping 9 more invalid samples (missing_audio_or_codes 2, unreadable_audio 1, "
                + "wrong_codebook_count 1, code_out_of_range 1, audio_too_short 1, audio_too_long 1, nothing_supervised 1, too_long 1); "
                + "the validation report lists each", w.get(3));

        // The report as JSON.
        Path reportFile = dir.resolve("out/report.json");
        rep.write(reportFile);
        JsonNode j = new ObjectMapper().readTree(reportFile.toFile());
        assertEquals(14, j.path("total").asInt());
        assertEquals(2, j.path("valid").asInt());
        assertEquals(12, j.path("invalid").asInt());
        assertEquals(Reason.values().length, j.path("reasons").size());
        for (Reason reason : Reason.values()) assertEquals(expected.get(reason), j.path("reasons").path(reason.key()).asInt(), reason.key());
        assertEquals(3.0 / 3600, j.path("hours").path("reference").asDouble(), 1e-12);
        assertEquals(4.0 / 3600, j.path("hours").path("target").asDouble(), 1e-12);
        assertEquals(7.0 / 3600, j.path("hours").path("total").asDouble(), 1e-12);
        assertEquals(1, j.path("speakers").path("alice").asInt());
        assertEquals(12, j.path("invalid_samples").size());
        assertEquals("unparseable", j.path("invalid_samples").get(0).path("reason").asText());

        // Without limits only the structural and codes problems remain.
        DataValidator.Result open = new DataValidator(Fixtures.realConfig(), tok, ValidationOptions.defaults()).validate(data, null);
        assertEquals(5, open.report().valid());
    }

    @Test
    void offsetAndDurationSelectFrames(@TempDir Path dir) throws Exception {
        Fixtures.npy(dir.resolve("a.npy"), Fixtures.codes(8, 100, 0)); // 4 s
        String line = "{\"messages\": [{\"role\": \"user\", \"content\": \"hello\"}, {\"role\": \"assistant\", \"content\": "
                + "[{\"type\": \"audio\", \"audio_codes\": \"a.npy\", %s}]}]}";
        Path data = Fixtures.write(dir.resolve("d.jsonl"), String.join("\n",
                line.formatted("\"offset\": 1.0, \"duration\": 2.0"),
                line.formatted("\"offset\": 3.5, \"duration\": 9.0"),
                line.formatted("\"offset\": 4.0"),
                line.formatted("\"duration\": 0.0")));
        DataValidator.Result r = new DataValidator(Fixtures.realConfig(), tok, ValidationOptions.defaults()).validate(data, null);
        assertEquals(2, r.report().valid());
        long[][] first = r.samples().get(0).audioOut().getFirst().codes().load();
        assertEquals(50, first[0].length);
        assertEquals(25, first[0][0], "starts at frame 25");
        assertEquals(12, r.samples().get(1).audioOut().getFirst().frames(), "clamped to the end: frames 88..99");
        assertEquals(1, r.report().count(Reason.BAD_STRUCTURE), "offset past the end");
        assertEquals(1, r.report().count(Reason.AUDIO_TOO_SHORT), "a duration of 0 selects nothing");
    }

    @Test
    void noValidSampleIsAnError(@TempDir Path dir) throws Exception {
        Path data = Fixtures.write(dir.resolve("d.jsonl"), "{\"messages\": [\n{\"speaker\": 1}\n");
        DataValidator.Result r = new DataValidator(Fixtures.realConfig(), tok, ValidationOptions.defaults()).validate(data, null);
        DataException e = assertThrows(DataException.class, () -> r.requireNonEmpty(data));
        assertEquals("no valid sample in " + data + " (2 read, all invalid: unparseable 1, bad_structure 1)", e.getMessage());
    }

    @Test
    void aCodesFileThatChangesAfterValidationIsAnErrorNamingIt(@TempDir Path dir) throws Exception {
        Path codes = Fixtures.npy(dir.resolve("a.npy"), Fixtures.codes(8, 10, 0));
        Path data = Fixtures.write(dir.resolve("d.jsonl"), "{\"messages\": [{\"role\": \"user\", \"content\": \"hello\"}, "
                + "{\"role\": \"assistant\", \"content\": [{\"type\": \"audio\", \"audio_codes\": \"a.npy\"}]}]}");
        DataValidator.Result r = new DataValidator(Fixtures.realConfig(), tok, ValidationOptions.defaults()).validate(data, null);
        Fixtures.npy(codes, Fixtures.codes(8, 4, 0));
        DataException e = assertThrows(DataException.class, () -> r.samples().getFirst().audioOut().getFirst().codes().load());
        assertTrue(e.getMessage().contains(codes.toString()) && e.getMessage().contains("changed since validation"), e.getMessage());
        Files.delete(codes);
        e = assertThrows(DataException.class, () -> r.samples().getFirst().audioOut().getFirst().codes().load());
        assertTrue(e.getMessage().contains("could no longer be read"), e.getMessage());
    }
}
