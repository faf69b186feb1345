package io.higgs4j.trainer.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The tokenization rules of docs/MODEL.md section 7, token by token, against ids written by hand from the fixture's vocabulary:
 * 128000 BOT, 128006/128007 header, 128009 eot, 128008 eom, 128011/128012 audio_bos/eos, 128013 audio_out_bos,
 * 128015 AUDIO, 128016 AUDIO_OUT; 1 "\n\n", 4 system, 5 user, 6 assistant.
 */
class SampleEncoderTest {

    static final long X = -100;
    static TextTokenizer tok;
    static SampleEncoder encoder;

    @BeforeAll
    static void load() {
        tok = TextTokenizer.load(Fixtures.tokenizerJson());
        encoder = new SampleEncoder(tok, Fixtures.realConfig());
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    static ChatMlSample parse(String json) throws Exception {
        return ChatMlReader.voiceCloning(ChatMlReader.parse(new ObjectMapper().readTree(json), "test", Path.of("/data")), PromptLayout.TRAIN);
    }

    static List<AudioCodes> clips(int... frames) {
        return java.util.Arrays.stream(frames).mapToObj(t -> AudioCodes.of(Fixtures.codes(8, t, t))).toList();
    }

    @Test
    void theVoiceCloningShapeTokenByToken() throws Exception {
        ChatMlSample s = parse("""
                {"messages": [
                  {"role": "user", "content": [{"type": "text", "text": "Hello world."}, {"type": "audio", "audio_codes": "ref.npy"}]},
                  {"role": "assistant", "content": [{"type": "text", "text": "Good morning."}, {"type": "audio", "audio_url": "target.wav"}]}],
                 "speaker": "alice"}""");
        EncodedSample e = encoder.encode(s, clips(5, 7));
        long[] ids = {
                // system: header, the voice-cloning prompt, eot; nothing supervised
                128000, 128006, 4, 128007, 1,
                45, 48, 50, 52, 53, 55, 57, 59, 61, 63, 65, 67, 57, 65, 69, 71, 73, 27, // you are a helpful assistant ... audio.
                128009,
                // user: reference text, reference audio, the request with the target text
                128006, 5, 128007, 1,
                138, 141, 27,                                   // hello world.
                128011, 128015, 128012,                         // <|audio_bos|><|AUDIO|><|audio_eos|>
                74, 77, 61, 79, 81, 83, 63, 71, 73, 39, 84, 67, 35, 151, 153, 27, // please generate ... audio's voice: good morning.
                128009,
                // assistant: the target audio, supervised, and eot
                128006, 6, 128007, 1,
                128013, 128016, 128012,
                128009};
        long[] labels = new long[ids.length];
        java.util.Arrays.fill(labels, X);
        int n = ids.length;
        labels[n - 4] = 128013;
        labels[n - 3] = 128016;
        labels[n - 2] = 128012;
        labels[n - 1] = 128009;
        assertArrayEquals(ids, e.inputIds());
        assertArrayEquals(labels, e.labels());
        assertEquals(1, e.audioIn().size());
        assertEquals(5, e.audioIn().getFirst().frames());
        assertFalse(e.audioIn().getFirst().supervised());
        assertEquals(1, e.audioOut().size());
        assertEquals(7, e.audioOut().getFirst().frames());
        assertTrue(e.audioOut().getFirst().supervised());
        assertEquals("alice", e.speaker());
        // Merged: placeholders replaced by T+K+1 columns (K = 8): 5+9 and 7+9.
        assertEquals(ids.length - 2 + 14 + 16, e.mergedLength());
        assertEquals(4, e.supervisedTextTokens());
    }

    @Test
    void multiTurnStartIndexEomAndAnUnsupervisedAudioOutClip() throws Exception {
        ChatMlSample s = parse("""
                {"messages": [
                  {"role": "system", "content": "Sing a happy song."},
                  {"role": "user", "content": {"type": "text", "text": "What is your name?"}},
                  {"role": "assistant", "content": [{"type": "text", "text": "Yes."}, {"type": "audio", "audio_codes": "a.npy"}]},
                  {"role": "assistant", "content": [{"type": "text", "text": "Read a book."}, {"type": "audio", "audio_codes": "b.npy"}]},
                  {"role": "user", "content": [{"type": "audio", "audio_url": "c.wav"}]},
                  {"role": "assistant", "content": "Now!"}],
                 "start_index": 3}""");
        EncodedSample e = encoder.encode(s, clips(2, 3, 4));
        long[] ids = {
                128000, 128006, 4, 128007, 1, 300, 50, 221, 261, 27, 128009,     // system: sing a happy song.
                128006, 5, 128007, 1, 348, 103, 129, 271, 31, 128009,            // user: what is your name?
                128006, 6, 128007, 1, 324, 27, 128013, 128016, 128012, 128008,   // assistant (before start_index): yes. audio, eom
                128006, 6, 128007, 1, 302, 50, 265, 27, 128013, 128016, 128012, 128009, // assistant: read a book. audio, eot
                128006, 5, 128007, 1, 128011, 128015, 128012, 128009,            // user: audio
                128006, 6, 128007, 1, 340, 33, 128009};                          // assistant: now!
        long[] labels = {
                X, X, X, X, X, X, X, X, X, X, X,
                X, X, X, X, X, X, X, X, X, X,
                X, X, X, X, X, X, X, X, X, X,
                X, X, X, X, 302, 50, 265, 27, 128013, 128016, 128012, 128009,
                X, X, X, X, X, X, X, X,
                X, X, X, X, 340, 33, 128009};
        assertArrayEquals(ids, e.inputIds());
        assertArrayEquals(labels, e.labels());
        assertEquals(List.of(false, true), e.audioOut().stream().map(EncodedSample.Clip::supervised).toList());
        assertEquals(List.of(2, 3), e.audioOut().stream().map(EncodedSample.Clip::frames).toList());
        assertEquals(1, e.audioIn().size());
        assertEquals(4, e.audioIn().getFirst().frames());
    }

    @Test
    void withoutStartIndexEveryAssistantTurnIsSupervised() throws Exception {
        ChatMlSample s = parse("""
                {"messages": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "yes"},
                              {"role": "assistant", "content": "now"}]}""");
        EncodedSample e = encoder.encode(s, List.of());
        assertArrayEquals(new long[] {128000, 128006, 5, 128007, 1, 138, 128009, 128006, 6, 128007, 1, 324, 128008,
                128006, 6, 128007, 1, 340, 128009}, e.inputIds());
        assertArrayEquals(new long[] {X, X, X, X, X, X, X, X, X, X, X, 324, 128008, X, X, X, X, 340, 128009}, e.labels());
        assertEquals(e.textLength(), e.mergedLength());
    }

    @Test
    void aLiteralPlaceholderInTextIsBadStructure() throws Exception {
        ChatMlSample s = parse("""
                {"messages": [{"role": "user", "content": "hello <|AUDIO|>"}, {"role": "assistant", "content": "yes"}]}""");
        var ex = assertThrows(AudioCodes.InvalidSampleException.class, () -> encoder.encode(s, List.of()));
        assertEquals(Reason.BAD_STRUCTURE, ex.reason());
        assertTrue(ex.getMessage().contains("literal <|AUDIO|>"), ex.getMessage());
    }

    @Test
    void withoutTheDelayPatternAClipTakesTPlusTwoColumns(@TempDir Path dir) throws Exception {
        SampleEncoder plain = new SampleEncoder(tok, Fixtures.withCodebooks(Fixtures.realConfig(), 8, false));
        ChatMlSample s = parse("""
                {"messages": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": [{"type": "audio", "audio_codes": "x.npy"}]}]}""");
        EncodedSample e = plain.encode(s, clips(10));
        assertEquals(e.textLength() - 1 + 12, e.mergedLength());
        assertEquals(e.textLength() - 1 + 10 + 9, encoder.encode(s, clips(10)).mergedLength());
    }
}
