package io.higgs4j.trainer.data;

import io.higgs4j.higgs.DelayPattern;

import java.util.Arrays;
import java.util.List;

/**
 * A sample as token ids and labels (docs/MODEL.md section 7) with its audio clips: audio-in clips (user/system turns; under
 * Whisper, one per 30-second chunk of each audio-in item, each with its own placeholder) and
 * audio-out clips (assistant turns), each in order of its placeholder. An audio-out clip is supervised when its
 * {@code <|AUDIO_OUT|>} placeholder's text label is not -100.
 *
 * @param mergedLength the length of the sample once the model has replaced each placeholder by its clip's columns
 *                     (delayed width T+K+1, or T+2 without the delay pattern; audio-in clips count only when
 *                     encode_audio_in_tokens; with encode_whisper_embed each audio-in clip also adds its Whisper
 *                     tokens), before rounding to a multiple of 8
 */
public record EncodedSample(String id, String speaker, long[] inputIds, long[] labels, List<Clip> audioIn, List<Clip> audioOut,
                            int mergedLength) {

    /**
     * One clip's codes and whether its audio labels are trained; for an audio-in clip under Whisper
     * (encode_whisper_embed), its waveform at 16 kHz (at most 30 s: one Whisper chunk), else null.
     */
    public record Clip(AudioCodes codes, boolean supervised, Waveform waveform) {
        public Clip(AudioCodes codes, boolean supervised) {
            this(codes, supervised, null);
        }

        public int frames() {
            return codes.frames();
        }
    }

    public EncodedSample {
        if (inputIds.length != labels.length) {
            throw new IllegalArgumentException(id + ": " + inputIds.length + " input ids but " + labels.length + " labels");
        }
        audioIn = List.copyOf(audioIn);
        audioOut = List.copyOf(audioOut);
    }

    public int textLength() {
        return inputIds.length;
    }

    /** Text labels that are trained (not -100). */
    public int supervisedTextTokens() {
        return (int) Arrays.stream(labels).filter(l -> l != DelayPattern.IGNORE_INDEX).count();
    }

    /**
     * Seconds of reference audio: every clip that is not trained on (audio-in clips, and assistant audio before
     * start_index, such as the official prompt layout's reference turn).
     */
    public double referenceSeconds() {
        return audioIn.stream().mapToDouble(c -> c.codes().seconds()).sum()
                + audioOut.stream().filter(c -> !c.supervised()).mapToDouble(c -> c.codes().seconds()).sum();
    }

    /** Seconds of target audio: the audio-out clips that are trained on (assistant audio at or after start_index). */
    public double targetSeconds() {
        return audioOut.stream().filter(Clip::supervised).mapToDouble(c -> c.codes().seconds()).sum();
    }

    @Override
    public String toString() {
        return "EncodedSample[" + id + ": " + inputIds.length + " tokens, " + audioIn.size() + " audio-in, " + audioOut.size()
                + " audio-out clips, merged length " + mergedLength + "]";
    }
}
