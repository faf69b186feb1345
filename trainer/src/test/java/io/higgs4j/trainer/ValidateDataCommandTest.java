package io.higgs4j.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.io.Npy;
import io.higgs4j.trainer.data.DemoData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class ValidateDataCommandTest {

    /** rc, stdout, stderr of bin/higgs4j with these arguments. */
    static String[] run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        int rc = cl.execute(args);
        return new String[] {Integer.toString(rc), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void theDemoDataSetWithTheTinyPreset(@TempDir Path dir) throws Exception {
        Path data = DemoData.write(dir, 6, 2, 8, 1024, 3);
        Path report = dir.resolve("report.json");
        String[] r = run("validate-data", "--data_path", data.toString(), "--config", "tiny", "--report", report.toString());
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("Samples: 6 total, 6 valid, 0 invalid"), r[1]);
        assertTrue(r[1].contains("Speakers: 2: speaker_0 (3), speaker_1 (3)"), r[1]);
        assertTrue(r[1].matches("(?s).*Audio in valid samples: [0-9.]+ h reference, [0-9.]+ h target, [0-9.]+ h total.*"), r[1]);
        JsonNode j = new ObjectMapper().readTree(report.toFile());
        assertEquals(6, j.path("total").asInt());
        assertEquals(6, j.path("valid").asInt());
        assertEquals(0, j.path("invalid").asInt());
        assertEquals(0, j.path("reasons").path("too_long").asInt());
        assertTrue(j.path("hours").path("total").asDouble() > 0);
    }

    @Test
    void invalidSamplesAreWarnedAndCountedAndStrictFails(@TempDir Path dir) throws Exception {
        Path data = DemoData.write(dir, 3, 1, 8, 1024, 3);
        long[][] k2 = {{1, 2}, {3, 4}};
        Npy.write(dir.resolve("k2.npy"), k2, "<i4");
        Files.writeString(data, Files.readString(data)
                + "not json\n"
                + "{\"messages\": [{\"role\": \"user\", \"content\": \"hello\"}, {\"role\": \"assistant\", \"content\": "
                + "[{\"type\": \"audio\", \"audio_codes\": \"k2.npy\"}]}]}\n");
        String[] r = run("validate-data", "--data-path", data.toString(), "--config", "tiny", "--max-seq-len", "4096");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("Samples: 5 total, 3 valid, 2 invalid"), r[1]);
        assertTrue(r[1].matches("(?s).*\\n  unparseable: +1\\n.*"), r[1]);
        assertTrue(r[1].matches("(?s).*\\n  wrong_codebook_count: +1\\n.*"), r[1]);
        assertTrue(r[2].contains("warning: skipping demo.jsonl line 4: unparseable"), r[2]);
        assertTrue(r[2].contains("warning: skipping demo.jsonl line 5: wrong codebook count"), r[2]);

        r = run("validate-data", "--data_path", data.toString(), "--config", "tiny", "--strict");
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("higgs4j validate-data: 2 of 5 samples in " + data + " are invalid (--strict)"), r[2]);

        // Nothing valid: an error in one line after the summary.
        r = run("validate-data", "--data_path", data.toString(), "--config", "tiny", "--max_seq_len", "10");
        assertEquals("1", r[0]);
        assertTrue(r[1].matches("(?s).*\\n  too_long: +3\\n.*"), r[1]);
        assertTrue(r[2].contains("higgs4j validate-data: no valid sample in " + data), r[2]);
        assertFalse(r[2].contains("\tat "), "no stack trace: " + r[2]);
    }

    @Test
    void aTokenizerThatDisagreesWithTheConfigAndMissingOptionsAreOneLineErrors(@TempDir Path dir) throws Exception {
        Path data = DemoData.write(dir, 2, 1, 8, 1024, 3);
        Path fixture = Path.of(getClass().getResource("/io/higgs4j/trainer/data/tokenizer.json").toURI());
        String[] r = run("validate-data", "--data_path", data.toString(), "--config", "tiny", "--tokenizer", fixture.toString());
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("does not match the model config: <|AUDIO|> is 128015 in the tokenizer but audio_in_token_idx is 1015"), r[2]);
        assertEquals(1, r[2].strip().lines().filter(l -> l.startsWith("higgs4j")).count(), r[2]);

        r = run("validate-data", "--data_path", data.toString());
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("give --model_path DIR or --config"), r[2]);

        r = run("validate-data", "--data_path", dir.resolve("nope.jsonl").toString(), "--config", "tiny");
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("nope.jsonl does not exist"), r[2]);

        r = run("validate-data", "--data_path", data.toString(), "--config", "small");
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("the 'small' preset has no built-in tokenizer"), r[2]);
    }

    @Test
    void aModelDirectoryGivesConfigAndTokenizer(@TempDir Path dir) throws Exception {
        Path model = Files.createDirectories(dir.resolve("model"));
        Path fixtures = ParamsCommandTest.fixture();
        Files.copy(fixtures.resolve("config.json"), model.resolve("config.json"));
        Files.copy(fixtures.resolve("tokenizer_config.json"), model.resolve("tokenizer_config.json"));
        Files.copy(Path.of(getClass().getResource("/io/higgs4j/trainer/data/tokenizer.json").toURI()), model.resolve("tokenizer.json"));
        Path data = DemoData.write(dir.resolve("data"), 4, 2, 8, 1024, 3);
        String[] r = run("validate-data", "--data_path", data.toString(), "--model_path", model.toString());
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("Samples: 4 total, 4 valid, 0 invalid"), r[1]);
    }
}
