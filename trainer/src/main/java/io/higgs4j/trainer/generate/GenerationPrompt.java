package io.higgs4j.trainer.generate;

import io.higgs4j.higgs.DelayPattern;
import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.trainer.data.AudioCodes;
import io.higgs4j.trainer.data.AudioCodes.InvalidSampleException;
import io.higgs4j.trainer.data.ChatMlReader;
import io.higgs4j.trainer.data.ChatMlSample;
import io.higgs4j.trainer.data.ChatMlSample.Audio;
import io.higgs4j.trainer.data.ChatMlSample.Message;
import io.higgs4j.trainer.data.ChatMlSample.Role;
import io.higgs4j.trainer.data.ChatMlSample.Text;
import io.higgs4j.trainer.data.Collator;
import io.higgs4j.trainer.data.EncodedSample;
import io.higgs4j.trainer.data.TextTokenizer;
import io.higgs4j.trainer.data.PromptLayout;
import io.higgs4j.trainer.data.SampleEncoder;
import io.higgs4j.trainer.data.Waveform;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The prompt of a text-to-speech request, built as a training sample of the same layout would begin, then the
 * assistant header and {@code <|audio_out_bos|>}, so the model starts a clip at once:
 * <ul>
 *   <li>{@link PromptLayout#OFFICIAL}, as the official examples/generation.py builds it: a system message
 *       "Generate audio following instruction." (with a scene block when a scene is given; without a reference it is
 *       always there, with one only when there is a scene), then with a reference: user: its transcript, assistant: its
 *       audio as an audio-out clip; then user: the text;</li>
 *   <li>{@link PromptLayout#TRAIN}: system: the voice-cloning prompt, user: the reference transcript, the reference
 *       audio as an audio-in clip, and the request with the text.</li>
 * </ul>
 */
public final class GenerationPrompt {

    public static final String OFFICIAL_SYSTEM = "Generate audio following instruction.";

    /**
     * @param refCodes    the reference clip's codes K x T (null: no reference)
     * @param scene       a scene description for the official layout's system message (null: none)
     * @param refWave16k  the reference audio at 16 kHz, for a model that conditions audio-in clips on Whisper
     *                    (encode_whisper_embed) in the train layout; null otherwise
     */
    public record Request(String text, String refText, long[][] refCodes, String scene, PromptLayout layout, float[] refWave16k) {
        public Request(String text, String refText, long[][] refCodes, String scene, PromptLayout layout) {
            this(text, refText, refCodes, scene, layout, null);
        }
    }

    private GenerationPrompt() { }

    /** The prompt as one collated sequence (input ids [1, S], the reference clip's codes). */
    public static HiggsAudioBatch build(TextTokenizer tokenizer, HiggsAudioConfig config, Request r) {
        return new Collator(config, 1).collate(List.of(encode(tokenizer, config, r))).toBatch();
    }

    /** The prompt's token ids and clips. */
    public static EncodedSample encode(TextTokenizer tokenizer, HiggsAudioConfig config, Request r) {
        if (r.text() == null || r.text().isBlank()) throw new IllegalArgumentException("--text is empty");
        if (tokenizer.encode(r.text()).length == 0) throw new IllegalArgumentException("--text '" + r.text() + "' tokenizes to nothing");
        if (r.refCodes() != null && (r.refText() == null || r.refText().isBlank())) {
            throw new IllegalArgumentException("a reference clip needs its transcript (--ref_text)");
        }
        if (r.refCodes() == null && r.refText() != null) {
            throw new IllegalArgumentException("--ref_text is given without a reference clip (--ref_audio or --ref_codes)");
        }
        if (r.layout() == PromptLayout.TRAIN && r.refCodes() == null) {
            throw new IllegalArgumentException("the train prompt layout is voice cloning: give a reference (--ref_audio or --ref_codes "
                    + "with --ref_text), or use --prompt_layout official");
        }
        if (r.layout() == PromptLayout.TRAIN && r.scene() != null) {
            throw new IllegalArgumentException("--scene goes into the official layout's system message; the train layout has none");
        }
        boolean whisperIn = config.encodeWhisperEmbed() && r.layout() == PromptLayout.TRAIN;
        if (whisperIn && r.refWave16k() == null) {
            throw new IllegalArgumentException("this model conditions audio-in clips on Whisper features (encode_whisper_embed): the "
                    + "train layout needs the reference audio itself (--ref_audio), not only its codes");
        }
        List<Message> messages = new ArrayList<>();
        List<AudioCodes> codes = new ArrayList<>();
        Message system = new Message(Role.SYSTEM, List.of(new Text(r.scene() == null ? OFFICIAL_SYSTEM
                : OFFICIAL_SYSTEM + "\n\n<|scene_desc_start|>\n" + r.scene() + "\n<|scene_desc_end|>")));
        if (r.refCodes() != null) {
            List<Message> shape = new ArrayList<>();
            if (r.scene() != null) shape.add(system);
            Audio placeholder = new Audio(null, null, false, null, null);
            shape.add(new Message(Role.USER, List.of(new Text(r.refText()), placeholder)));
            shape.add(new Message(Role.ASSISTANT, List.of(new Text(r.text()), placeholder)));
            List<Message> laidOut = ChatMlReader.voiceCloning(new ChatMlSample("prompt", null, shape, null, null, null), r.layout()).messages();
            messages.addAll(laidOut.subList(0, laidOut.size() - 1)); // all but the target audio's turn
            codes.add(AudioCodes.of(r.refCodes()));
        } else {
            messages.add(system);
            messages.add(new Message(Role.USER, List.of(new Text(r.text()))));
        }
        EncodedSample e;
        try {
            List<Waveform> waves = null;
            if (config.encodeWhisperEmbed()) {
                waves = new ArrayList<>();
                waves.add(r.refWave16k() == null ? null : Waveform.of(r.refWave16k()));
                if (codes.isEmpty()) waves.clear();
            }
            e = new SampleEncoder(tokenizer, config).encode(new ChatMlSample("prompt", null, messages, null, null, null), codes, waves);
        } catch (InvalidSampleException ex) {
            throw new IllegalArgumentException("the prompt is invalid: " + ex.getMessage());
        }
        long[] header = tokenizer.encode("<|start_header_id|>assistant<|end_header_id|>\n\n");
        long[] ids = Arrays.copyOf(e.inputIds(), e.inputIds().length + header.length + 1);
        System.arraycopy(header, 0, ids, e.inputIds().length, header.length);
        ids[ids.length - 1] = tokenizer.specialTokens().audioOutBos();
        long[] labels = new long[ids.length];
        Arrays.fill(labels, DelayPattern.IGNORE_INDEX);
        return new EncodedSample(e.id(), null, ids, labels, e.audioIn(), e.audioOut(), e.mergedLength() + header.length + 1);
    }
}
