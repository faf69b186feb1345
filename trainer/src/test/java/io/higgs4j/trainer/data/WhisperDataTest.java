package io.higgs4j.trainer.data;

import io.higgs4j.audio.WavReader;
import io.higgs4j.audio.WavWriter;
import io.higgs4j.audio.WhisperFeatureExtractor;
import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioWhisper;
import io.higgs4j.torch.Scope;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The data side of Whisper conditioning: waveforms of audio-in items, 30-second chunks, features in the batch. */
class WhisperDataTest {

    static final HiggsAudioConfig TINY = HiggsAudioConfig.preset("tiny");
    static final HiggsAudioConfig WHISPER = TINY.withWhisper(true);

    static TextTokenizer tok;

    @BeforeAll
    static void load() {
        tok = TextTokenizer.demo();
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    /** seconds of a 16 kHz tone: deterministic, nonzero. */
    static float[] tone(double seconds, double hz) {
        float[] w = new float[(int) Math.round(seconds * 16_000)];
        for (int t = 0; t < w.length; t++) w[t] = (float) (0.3 * Math.sin(2 * Math.PI * hz * t / 16_000.0) * (1 + 0.5 * Math.sin(t / 5000.0)));
        return w;
    }

    static String sample(String refUrl, String refCodes, String targetUrl) {
        return "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"the dog.\"}, {\"type\": \"audio\""
                + (refUrl != null ? ", \"audio_url\": \"" + refUrl + "\"" : "") + (refCodes != null ? ", \"audio_codes\": \"" + refCodes + "\"" : "")
                + "}]}, {\"role\": \"assistant\", \"content\": [{\"type\": \"text\", \"text\": \"the cat.\"}, "
                + "{\"type\": \"audio\", \"audio_url\": \"" + targetUrl + "\"}]}], \"speaker\": \"a\"}";
    }

    /** A data set of one sample with a 45 s reference WAV (16 kHz) and its 1125 frames of codes; target 1 s. */
    static Path longReference(Path dir) throws Exception {
        WavWriter.write(dir.resolve("ref.wav"), tone(45, 220), 16_000);
        Fixtures.npy(dir.resolve("ref.codes.npy"), Fixtures.codes(8, 1125, 1));
        Fixtures.npy(dir.resolve("out.codes.npy"), Fixtures.codes(8, 25, 2));
        return Fixtures.write(dir.resolve("data.jsonl"), sample("ref.wav", null, "out.wav") + "\n");
    }

    @Test
    void aLongReferenceBecomesOneClipPerThirtySecondChunkWithItsFeatures(@TempDir Path dir) throws Exception {
        Path data = longReference(dir);
        DataValidator v = new DataValidator(WHISPER, tok, ValidationOptions.defaults());
        DataValidator.Result r = v.validate(data, null);
        assertEquals(1, r.report().valid(), r.report().invalidSamples().toString());
        EncodedSample e = r.samples().getFirst();
        long audioToken = tok.specialTokens().audio();
        assertEquals(2, Arrays.stream(e.inputIds()).filter(id -> id == audioToken).count(), "one <|AUDIO|> per chunk");
        assertEquals(2, e.audioIn().size());
        assertEquals(750, e.audioIn().get(0).frames());
        assertEquals(375, e.audioIn().get(1).frames());
        assertEquals(480_000, e.audioIn().get(0).waveform().samples());
        assertEquals(240_000, e.audioIn().get(1).waveform().samples());
        assertEquals(45.0, e.referenceSeconds(), 1e-9);
        SampleEncoder enc = v.encoder();
        int expected = e.textLength() - 3 + enc.width(750) + enc.width(375) + enc.width(25)
                + (int) HiggsAudioWhisper.tokenCount(3000) + (int) HiggsAudioWhisper.tokenCount(1500);
        assertEquals(expected, e.mergedLength());
        assertEquals(750 + 375, HiggsAudioWhisper.tokenCount(3000) + HiggsAudioWhisper.tokenCount(1500));

        Collated c = new Collator(WHISPER).collate(List.of(e));
        assertEquals(2, c.audioInIdsStart().length);
        assertEquals(2, c.audioInWaveforms().size());
        assertEquals(128, c.numMelBins());
        assertEquals(enc.width(750) + enc.width(375), c.audioInIds()[0].length, "codes of each chunk wrapped and delayed separately");
        try (Scope s = Scope.open()) {
            HiggsAudioBatch b = c.toBatch();
            assertArrayEquals(new long[] {2, 128, 3000}, b.audioFeatures().shape());
            assertArrayEquals(new long[] {2, 3000}, b.audioFeatureAttentionMask().shape());
            assertArrayEquals(new long[] {3000, 1500}, b.audioFeatureAttentionMask().sum(1, false).toLongArray());
            assertEquals(2, b.audioInIdsStart().size(0));
            // The same as the feature extractor on the whole 45 s as read from the WAV (it cuts the same 30 s chunks).
            WhisperFeatureExtractor.Features whole = new WhisperFeatureExtractor(128).extract(WavReader.read(dir.resolve("ref.wav")).samples());
            assertEquals(0.0, whole.features().sub(b.audioFeatures()).abs().max().item(), 1e-5);
            assertArrayEquals(whole.mask().toLongArray(), b.audioFeatureAttentionMask().toLongArray());
        }
    }

    @Test
    void missingAndCorruptWavsAreCountedOnlyWithWhisper(@TempDir Path dir) throws Exception {
        Fixtures.npy(dir.resolve("ref.codes.npy"), Fixtures.codes(8, 50, 1));
        Fixtures.npy(dir.resolve("bad.codes.npy"), Fixtures.codes(8, 50, 1));
        Fixtures.npy(dir.resolve("codes_only.npy"), Fixtures.codes(8, 50, 1));
        Fixtures.npy(dir.resolve("long.codes.npy"), Fixtures.codes(8, 700, 1));
        Fixtures.npy(dir.resolve("out.codes.npy"), Fixtures.codes(8, 25, 2));
        Fixtures.write(dir.resolve("bad.wav"), "RIFF\u0000\u0000\u0000\u0000WAVEjunk");
        WavWriter.write(dir.resolve("long.wav"), new float[16_000 * 31], 16_000);
        WavWriter.write(dir.resolve("ok.wav"), tone(3, 300), 24_000);   // 48000 samples at 24 kHz = 2 s: resampled
        Fixtures.npy(dir.resolve("ok.codes.npy"), Fixtures.codes(8, 75, 1));
        Path data = Fixtures.write(dir.resolve("data.jsonl"), String.join("\n",
                sample("ref.wav", null, "out.wav"),          // WAV missing (codes beside it)
                sample(null, "codes_only.npy", "out.wav"),   // no audio_url at all
                sample("bad.wav", null, "out.wav"),          // not a WAV
                sample("long.wav", null, "out.wav"),         // 31 s of audio, 28 s of codes: no codes for the second chunk
                sample("ok.wav", null, "out.wav")) + "\n");
        DataValidator.Result on = new DataValidator(WHISPER, tok, ValidationOptions.defaults()).validate(data, null);
        assertEquals(1, on.report().valid(), on.report().invalidSamples().toString());
        assertEquals(Map.of(Reason.MISSING_AUDIO_OR_CODES, 2, Reason.UNREADABLE_AUDIO, 1, Reason.BAD_STRUCTURE, 1),
                nonZero(on.report().reasons()));
        Waveform ok = on.samples().getFirst().audioIn().getFirst().waveform();
        assertEquals(32_000, ok.samples(), "24 kHz resampled to 16 kHz");

        DataValidator.Result off = new DataValidator(TINY, tok, ValidationOptions.defaults()).validate(data, null);
        assertEquals(5, off.report().valid(), "without Whisper only codes are needed: " + off.report().invalidSamples());
        for (EncodedSample e : off.samples()) {
            assertEquals(1, e.audioIn().size());
            assertNull(e.audioIn().getFirst().waveform());
        }
        Collated c = new Collator(TINY).collate(off.samples());
        assertNull(c.audioInWaveforms());
        try (Scope s = Scope.open()) {
            HiggsAudioBatch b = c.toBatch();
            assertNull(b.audioFeatures());
            assertNull(b.audioFeatureAttentionMask());
        }
    }

    static Map<Reason, Integer> nonZero(Map<Reason, Integer> m) {
        Map<Reason, Integer> out = new java.util.EnumMap<>(Reason.class);
        m.forEach((k, n) -> {
            if (n > 0) out.put(k, n);
        });
        return out;
    }

    @Test
    void theDemoDataWithReferenceWavsIsValidWithWhisper(@TempDir Path dir) throws Exception {
        Path data = DemoData.write(dir, 4, 2, 8, 1024, 3, true);
        DataValidator.Result r = new DataValidator(WHISPER, tok, ValidationOptions.defaults()).validate(data, null);
        assertEquals(4, r.report().valid(), r.report().invalidSamples().toString());
        for (EncodedSample e : r.samples()) {
            assertEquals(1, e.audioIn().size());
            EncodedSample.Clip ref = e.audioIn().getFirst();
            assertEquals(ref.frames() * 640, ref.waveform().samples(), "the WAV lasts as long as the codes");
        }
        DataValidator.Result plain = new DataValidator(TINY, tok, ValidationOptions.defaults()).validate(data, null);
        assertEquals(4, plain.report().valid());
        Collated c = new Collator(WHISPER).collate(r.samples().subList(0, 2));
        try (Scope s = Scope.open()) {
            HiggsAudioBatch b = c.toBatch();
            assertArrayEquals(new long[] {2, 128, 3000}, b.audioFeatures().shape());
            long[] real = b.audioFeatureAttentionMask().sum(1, false).toLongArray();
            for (int i = 0; i < 2; i++) assertEquals(r.samples().get(i).audioIn().getFirst().frames() * 4L, real[i], "100 mel frames per second");
        }
    }
}
