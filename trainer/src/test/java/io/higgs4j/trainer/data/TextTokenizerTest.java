package io.higgs4j.trainer.data;

import io.higgs4j.higgs.HiggsAudioConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class TextTokenizerTest {

    static TextTokenizer tok;

    @BeforeAll
    static void load() {
        tok = TextTokenizer.load(Fixtures.tokenizerJson());
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    @Test
    void theFixtureHasTheSpecialTokensAtTheirRealIds() {
        TextTokenizer.SpecialTokens s = tok.specialTokens();
        assertEquals(128000, s.beginOfText());
        assertEquals(128001, s.endOfText());
        assertEquals(128006, s.startHeader());
        assertEquals(128007, s.endHeader());
        assertEquals(128008, s.eom());
        assertEquals(128009, s.eot());
        assertEquals(128011, s.audioBos());
        assertEquals(128012, s.audioEos());
        assertEquals(128013, s.audioOutBos());
        assertEquals(128015, s.audio());
        assertEquals(128016, s.audioOut());
        assertEquals("<|end_of_text|>", s.padToken());
        assertEquals(128001, s.pad());
        tok.checkCompatible(Fixtures.realConfig());
    }

    @Test
    void specialTokensStayWholeAndNothingIsAdded() {
        assertArrayEquals(new long[] {128000, 128006, 5, 128007, 1},
                tok.encode("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"));
        assertArrayEquals(new long[] {128011, 128015, 128012}, tok.encode("<|audio_bos|><|AUDIO|><|audio_eos|>"));
        // Lower-cased words, a word keeps its leading space; unknown words are <unk> (0).
        assertArrayEquals(new long[] {138, 141, 27}, tok.encode("Hello world."));
        assertArrayEquals(new long[] {0, 139}, tok.encode("Zebra hello"));
        assertEquals("hello world.", tok.decode(new long[] {138, 141, 27}));
        // No truncation: DJL's default of 512 tokens is off.
        assertEquals(3000, tok.encode(" hello".repeat(3000)).length);
    }

    @Test
    void djlQueriesCudaInAChildProcessNotInThisOne() {
        // In-process, DJL's platform probe loads a second CUDA runtime and libtorch's kernels then fail on CUDA.
        try (TextTokenizer demo = TextTokenizer.demo()) {
            assertEquals("true", System.getProperty("ai.djl.util.cuda.fork"));
        }
    }

    @Test
    void theDemoTokenizerMatchesTheTinyPreset() {
        try (TextTokenizer demo = TextTokenizer.demo()) {
            TextTokenizer.SpecialTokens s = demo.specialTokens();
            assertArrayEquals(new long[] {1000, 1001, 1006, 1007, 1008, 1009, 1011, 1012, 1013, 1015, 1016},
                    new long[] {s.beginOfText(), s.endOfText(), s.startHeader(), s.endHeader(), s.eom(), s.eot(), s.audioBos(),
                            s.audioEos(), s.audioOutBos(), s.audio(), s.audioOut()});
            assertEquals(1001, s.pad());
            demo.checkCompatible(HiggsAudioConfig.preset("tiny"));
            // Same words as the fixture, all below 1000.
            assertArrayEquals(tok.encode("Hello world, please generate speech."), demo.encode("Hello world, please generate speech."));
            for (long id : demo.encode("the quick dog")) assertTrue(id > 0 && id < 1000, "id " + id);
            // resolve: the tiny preset brings it.
            try (TextTokenizer viaPreset = TextTokenizer.resolve("tiny", null, null)) {
                assertEquals(1016, viaPreset.specialTokens().audioOut());
            }
        }
    }

    @Test
    void aTokenizerThatDisagreesWithTheConfigIsRefused() {
        TextTokenizer.TokenizerException e = assertThrows(TextTokenizer.TokenizerException.class,
                () -> tok.checkCompatible(HiggsAudioConfig.preset("tiny")));
        assertTrue(e.getMessage().contains("<|AUDIO|> is 128015 in the tokenizer but audio_in_token_idx is 1015"), e.getMessage());
        assertTrue(e.getMessage().contains("<|AUDIO_OUT|> is 128016 in the tokenizer but audio_out_token_idx is 1016"), e.getMessage());
        assertTrue(e.getMessage().contains("pad_token_id is 1001"), e.getMessage());
        assertTrue(e.getMessage().contains(Fixtures.tokenizerJson().toString()), "names the tokenizer: " + e.getMessage());
        // The encoder and the validator check too.
        assertThrows(TextTokenizer.TokenizerException.class, () -> new SampleEncoder(tok, HiggsAudioConfig.preset("tiny")));
        try (TextTokenizer demo = TextTokenizer.demo()) {
            e = assertThrows(TextTokenizer.TokenizerException.class,
                    () -> new DataValidator(Fixtures.realConfig(), demo, ValidationOptions.defaults()));
            assertTrue(e.getMessage().contains("<|audio_out_bos|> is 1013 in the tokenizer but audio_out_bos_token_id is 128013"), e.getMessage());
        }
    }

    @Test
    void padTokenFromTheTokenizerConfigAndMissingSpecialTokens(@TempDir Path dir) throws Exception {
        Files.copy(Fixtures.tokenizerJson(), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"pad_token\": {\"content\": \"<|eot_id|>\"}}");
        try (TextTokenizer t = TextTokenizer.load(dir)) {
            assertEquals(128009, t.specialTokens().pad());
            var e = assertThrows(TextTokenizer.TokenizerException.class, () -> t.checkCompatible(Fixtures.realConfig()));
            assertTrue(e.getMessage().contains("<|eot_id|> (pad token) is 128009 in the tokenizer but pad_token_id is 128001"), e.getMessage());
        }
        // A tokenizer without <|AUDIO_OUT|>.
        String json = Files.readString(Fixtures.tokenizerJson(), StandardCharsets.UTF_8).replace("<|AUDIO_OUT|>", "<|OTHER|>");
        Path bad = Files.writeString(dir.resolve("bad.json"), json);
        var e = assertThrows(TextTokenizer.TokenizerException.class, () -> TextTokenizer.load(bad));
        assertTrue(e.getMessage().contains("has no token <|AUDIO_OUT|>"), e.getMessage());
        e = assertThrows(TextTokenizer.TokenizerException.class, () -> TextTokenizer.load(dir.resolve("nope")));
        assertTrue(e.getMessage().contains("no tokenizer.json at"), e.getMessage());
    }

    @Test
    void theCommittedTokenizerFilesAreWhatTheFixtureWriterWrites() throws Exception {
        assertEquals(TokenizerFixtures.tokenizerJson(0), Files.readString(Fixtures.tokenizerJson(), StandardCharsets.UTF_8));
        try (var in = TextTokenizer.class.getResourceAsStream(TextTokenizer.DEMO_RESOURCE)) {
            assertEquals(TokenizerFixtures.tokenizerJson(127000), new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }
}
