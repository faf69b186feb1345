package io.higgs4j.trainer.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.higgs4j.audio.WavWriter;
import io.higgs4j.io.Npy;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Writes a synthetic voice-cloning data set for the {@code tiny} preset and the demo tokenizer: N samples in the
 * reference/target shape (see {@link ChatMlReader}) in {@code demo.jsonl}, with their codes under {@code codes/}.
 * Texts are words of the demo vocabulary. Codes follow patterns a small model can learn: in clip of speaker s,
 * codebook k, frame t, the code is {@code (offset(s) + 97*k + (t + phase) mod (3+k) * (k+1)*5) mod codebookSize},
 * where the phase is the clip's word count; a clip lasts 6 frames per word. Reference codes are named by
 * {@code "audio_codes"}; target codes sit beside the target's {@code audio_url} as {@code .codes.npy} (the two ways
 * codes are found). Deterministic for a seed.
 */
public final class DemoData {

    public static final String FILE_NAME = "demo.jsonl";
    /** A prompt for listening while training: speaker 0's voice saying a new sentence (see SamplePrompts). */
    public static final String SAMPLE_PROMPTS = "sample_prompts.jsonl";
    public static final int FRAMES_PER_WORD = 6;

    private DemoData() { }

    /** Writes {@code samples} samples of {@code speakers} speakers into dir; returns the data file. */
    public static Path write(Path dir, int samples, int speakers, int numCodebooks, int codebookSize, long seed) throws IOException {
        return write(dir, samples, speakers, numCodebooks, codebookSize, seed, false);
    }

    /**
     * As {@link #write(Path, int, int, int, int, long)}; with referenceWavs, each sample's reference audio item also
     * gets an {@code audio_url}, a 16 kHz PCM16 WAV under {@code codes/} lasting as long as its codes (T / 25 s: a
     * per-speaker harmonic tone with a little noise, see {@link #referenceWave}), so the data set also serves a model
     * with Whisper conditioning (encode_whisper_embed). The codes, texts and target items are the same either way.
     */
    public static Path write(Path dir, int samples, int speakers, int numCodebooks, int codebookSize, long seed,
                             boolean referenceWavs) throws IOException {
        if (samples < 1 || speakers < 1) throw new IllegalArgumentException("need at least one sample and one speaker");
        List<String> words = vocabulary();
        Random rnd = new Random(seed);
        Path codesDir = dir.resolve("codes");
        Files.createDirectories(codesDir);
        ObjectMapper json = new ObjectMapper();
        Path data = dir.resolve(FILE_NAME);
        try (BufferedWriter out = Files.newBufferedWriter(data, StandardCharsets.UTF_8)) {
            for (int i = 0; i < samples; i++) {
                int s = i % speakers;
                String speaker = "speaker_" + s;
                int refWords = 3 + rnd.nextInt(6), targetWords = 3 + rnd.nextInt(6);
                String refText = sentence(words, refWords, rnd), targetText = sentence(words, targetWords, rnd);
                String refCodes = String.format("codes/%s_%04d_ref.npy", speaker, i);
                String targetAudio = String.format("codes/%s_%04d_target.wav", speaker, i);
                Npy.write(dir.resolve(refCodes), codes(s, refWords, numCodebooks, codebookSize), "<i2");
                String refAudio = String.format("codes/%s_%04d_ref.wav", speaker, i);
                if (referenceWavs) WavWriter.write(dir.resolve(refAudio), referenceWave(s, i, FRAMES_PER_WORD * refWords), WAV_RATE);
                Npy.write(dir.resolve(AudioCodes.siblingCodesName(targetAudio)), codes(s, targetWords, numCodebooks, codebookSize), "<i2");

                ObjectNode sample = json.createObjectNode();
                ArrayNode messages = sample.putArray("messages");
                ObjectNode user = messages.addObject().put("role", "user");
                ArrayNode uc = user.putArray("content");
                uc.addObject().put("type", "text").put("text", refText);
                ObjectNode ref = uc.addObject().put("type", "audio");
                if (referenceWavs) ref.put("audio_url", refAudio);
                ref.put("audio_codes", refCodes);
                ObjectNode assistant = messages.addObject().put("role", "assistant");
                ArrayNode ac = assistant.putArray("content");
                ac.addObject().put("type", "text").put("text", targetText);
                ac.addObject().put("type", "audio").put("audio_url", targetAudio);
                sample.put("speaker", speaker);
                out.write(json.writeValueAsString(sample));
                out.newLine();
            }
        }
        int refWords = 5, targetWords = 6;
        Npy.write(dir.resolve("codes/sample_ref.npy"), codes(0, refWords, numCodebooks, codebookSize), "<i2");
        ObjectNode prompt = json.createObjectNode().put("name", "speaker_0").put("text", sentence(words, targetWords, rnd))
                .put("ref_text", sentence(words, refWords, rnd)).put("ref_codes", "codes/sample_ref.npy")
                .put("seed", 0).put("max_new_tokens", FRAMES_PER_WORD * targetWords + 3 * numCodebooks);
        if (referenceWavs) {
            WavWriter.write(dir.resolve("codes/sample_ref.wav"), referenceWave(0, samples, FRAMES_PER_WORD * refWords), WAV_RATE);
            prompt.put("ref_audio", "codes/sample_ref.wav");
        }
        Files.writeString(dir.resolve(SAMPLE_PROMPTS), json.writeValueAsString(prompt) + "\n", StandardCharsets.UTF_8);
        return data;
    }

    /** Sample rate of the demo's reference WAVs. */
    public static final int WAV_RATE = 16_000;

    /**
     * A reference waveform of frames / 25 s at 16 kHz for speaker s: a tone at 120 + 40 s Hz with its second and third
     * harmonics, its loudness following a 2 Hz envelope, plus noise at -40 dB seeded by the sample index.
     */
    static float[] referenceWave(int speaker, int sample, int frames) {
        int n = frames * (WAV_RATE / 25);
        double f0 = 120 + 40.0 * speaker;
        Random rnd = new Random(1000L * speaker + sample);
        float[] w = new float[n];
        for (int t = 0; t < n; t++) {
            double time = t / (double) WAV_RATE;
            double env = 0.6 + 0.4 * Math.sin(2 * Math.PI * 2 * time);
            double v = Math.sin(2 * Math.PI * f0 * time) + 0.5 * Math.sin(2 * Math.PI * 2 * f0 * time) + 0.25 * Math.sin(2 * Math.PI * 3 * f0 * time);
            w[t] = (float) (0.3 * env * v / 1.75 + 0.01 * rnd.nextGaussian());
        }
        return w;
    }

    /** The codes of one clip, K x (6 * words). */
    static long[][] codes(int speaker, int words, int numCodebooks, int codebookSize) {
        int t = FRAMES_PER_WORD * words;
        long offset = 31L * speaker + 7;
        long[][] c = new long[numCodebooks][t];
        for (int k = 0; k < numCodebooks; k++) {
            int period = 3 + k;
            for (int f = 0; f < t; f++) c[k][f] = Math.floorMod(offset + 97L * k + (long) ((f + words) % period) * (k + 1) * 5, codebookSize);
        }
        return c;
    }

    private static String sentence(List<String> words, int n, Random rnd) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) sb.append(i == 0 ? "" : " ").append(words.get(rnd.nextInt(words.size())));
        return sb.append('.').toString();
    }

    /** The ordinary words of the demo tokenizer (those it has with and without a leading space). */
    static List<String> vocabulary() throws IOException {
        try (InputStream in = DemoData.class.getResourceAsStream(TextTokenizer.DEMO_RESOURCE)) {
            if (in == null) throw new IOException("the demo tokenizer " + TextTokenizer.DEMO_RESOURCE + " is missing from the trainer jar");
            JsonNode vocab = new ObjectMapper().readTree(in).path("model").path("vocab");
            List<String> words = new ArrayList<>();
            for (Map.Entry<String, JsonNode> e : vocab.properties()) {
                String w = e.getKey();
                if (w.length() > 1 && w.chars().allMatch(Character::isLetter) && vocab.has(" " + w)) words.add(w);
            }
            return words;
        }
    }
}
