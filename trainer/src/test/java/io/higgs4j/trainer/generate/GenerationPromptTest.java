package io.higgs4j.trainer.generate;

import io.higgs4j.higgs.DelayPattern;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.trainer.data.AudioCodes;
import io.higgs4j.trainer.data.ChatMlReader;
import io.higgs4j.trainer.data.ChatMlSample;
import io.higgs4j.trainer.data.ChatMlSample.Audio;
import io.higgs4j.trainer.data.ChatMlSample.Message;
import io.higgs4j.trainer.data.ChatMlSample.Role;
import io.higgs4j.trainer.data.ChatMlSample.Text;
import io.higgs4j.trainer.data.EncodedSample;
import io.higgs4j.trainer.data.TextTokenizer;
import io.higgs4j.trainer.data.PromptLayout;
import io.higgs4j.trainer.data.SampleEncoder;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** A generation prompt is the beginning of a training sample of the same layout, up to the target's <|audio_out_bos|>. */
class GenerationPromptTest {

    static final HiggsAudioConfig TINY = HiggsAudioConfig.preset("tiny");

    static long[][] codes(int t, int base) {
        long[][] c = new long[8][t];
        for (int k = 0; k < 8; k++) for (int i = 0; i < t; i++) c[k][i] = (base + 31 * k + 7 * i) % 1024;
        return c;
    }

    static EncodedSample training(TextTokenizer tok, PromptLayout layout, long[][] ref, long[][] target) throws Exception {
        Audio a = new Audio(null, null, false, null, null);
        ChatMlSample shape = new ChatMlSample("s", null, List.of(
                new Message(Role.USER, List.of(new Text("hello world"), a)),
                new Message(Role.ASSISTANT, List.of(new Text("good morning"), a))), null, null, null);
        ChatMlSample laidOut = ChatMlReader.voiceCloning(shape, layout);
        return new SampleEncoder(tok, TINY).encode(laidOut, List.of(AudioCodes.of(ref), AudioCodes.of(target)));
    }

    @Test
    void eachLayoutsPromptIsTheStartOfItsTrainingSample() throws Exception {
        try (TextTokenizer tok = TextTokenizer.demo()) {
            var sp = tok.specialTokens();
            long[][] ref = codes(6, 3), target = codes(9, 100);
            for (PromptLayout layout : PromptLayout.values()) {
                EncodedSample train = training(tok, layout, ref, target);
                EncodedSample prompt = GenerationPrompt.encode(tok, TINY,
                        new GenerationPrompt.Request("good morning", "hello world", ref, null, layout));
                long[] p = prompt.inputIds(), t = train.inputIds();
                assertEquals(sp.audioOutBos(), p[p.length - 1], layout + ": ends with <|audio_out_bos|>");
                assertArrayEquals(Arrays.copyOf(t, p.length), p, layout + ": the prompt is the training sample's beginning");
                assertEquals(sp.audioOut(), t[p.length], layout + ": the training sample's target clip follows");
                assertEquals(1, prompt.audioIn().size() + prompt.audioOut().size(), "one reference clip");
                assertEquals(layout == PromptLayout.OFFICIAL ? 1 : 0, prompt.audioOut().size(),
                        layout + ": the official layout's reference is an audio-out clip, the train layout's an audio-in one");
                // The reference is never trained on: everything before the target turn's <|audio_out_bos|> is -100.
                for (int i = 0; i < p.length - 1; i++) assertEquals(DelayPattern.IGNORE_INDEX, train.labels()[i], layout + " label " + i);
                assertEquals(sp.audioOutBos(), train.labels()[p.length - 1], layout + ": the target's <|audio_out_bos|> is trained");
                assertEquals(sp.audioOut(), train.labels()[p.length], layout + ": the target clip is supervised");
                assertEquals(6 / 25.0, train.referenceSeconds(), 1e-12, layout + ": the reference clip is reference audio, whatever its turn");
                assertEquals(9 / 25.0, train.targetSeconds(), 1e-12, layout + ": only the trained clip is target audio");
                assertEquals(train.mergedLength() - (DelayPattern.delayedWidth(8, 9) + 2), prompt.mergedLength(),
                        layout + ": merged length = the sample's minus the target clip, <|audio_eos|> and <|eot_id|>");
            }
        }
    }

    @Test
    void theOfficialLayoutWithoutAReferenceHasTheInstructionSystemMessage() {
        try (TextTokenizer tok = TextTokenizer.demo()) {
            long[] p = GenerationPrompt.encode(tok, TINY, new GenerationPrompt.Request("good morning", null, null, null,
                    PromptLayout.OFFICIAL)).inputIds();
            String text = tok.decode(p);
            assertTrue(text.indexOf("system") < text.indexOf("user") && text.indexOf("user") < text.indexOf("assistant"), text);
            long[] system = tok.encode(GenerationPrompt.OFFICIAL_SYSTEM);
            int at = indexOf(p, system);
            assertTrue(at > 0, "the system message's tokens are in the prompt: " + text);
        }
    }

    static int indexOf(long[] hay, long[] needle) {
        for (int i = 0; i + needle.length <= hay.length; i++) {
            if (Arrays.equals(Arrays.copyOfRange(hay, i, i + needle.length), needle)) return i;
        }
        return -1;
    }

    @Test
    void badRequestsSayWhatIsWrong() {
        try (TextTokenizer tok = TextTokenizer.demo()) {
            long[][] ref = codes(4, 0);
            assertMessage(tok, new GenerationPrompt.Request(" ", null, null, null, PromptLayout.OFFICIAL), "--text is empty");
            assertMessage(tok, new GenerationPrompt.Request("hello", null, ref, null, PromptLayout.OFFICIAL), "--ref_text");
            assertMessage(tok, new GenerationPrompt.Request("hello", "hello", null, null, PromptLayout.OFFICIAL), "without a reference clip");
            assertMessage(tok, new GenerationPrompt.Request("hello", null, null, null, PromptLayout.TRAIN), "train prompt layout is voice cloning");
            assertMessage(tok, new GenerationPrompt.Request("hello", "hi", ref, "a room", PromptLayout.TRAIN), "--scene");
            assertMessage(tok, new GenerationPrompt.Request("hello", "hi", codes(4, 0)[0] == null ? null : new long[][] {{1, 2}}, null,
                    PromptLayout.OFFICIAL), "codebooks");
        }
    }

    static void assertMessage(TextTokenizer tok, GenerationPrompt.Request r, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GenerationPrompt.encode(tok, TINY, r));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
