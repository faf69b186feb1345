package io.higgs4j.trainer.data;

import io.higgs4j.higgs.DelayPattern;
import io.higgs4j.audio.WhisperFeatureExtractor;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioWhisper;
import io.higgs4j.trainer.data.AudioCodes.InvalidSampleException;
import io.higgs4j.trainer.data.ChatMlSample.Audio;
import io.higgs4j.trainer.data.ChatMlSample.Content;
import io.higgs4j.trainer.data.ChatMlSample.Message;
import io.higgs4j.trainer.data.ChatMlSample.Role;
import io.higgs4j.trainer.data.ChatMlSample.Text;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A ChatML sample to token ids and labels (docs/MODEL.md section 7), as the reference's {@code prepare_chatml_sample}:
 * <ul>
 *   <li>every turn starts {@code <|start_header_id|>{role}<|end_header_id|>\n\n} (the first also with
 *       {@code <|begin_of_text|>}), labels -100;</li>
 *   <li>text is encoded without special tokens; it is supervised (labels = ids) only in assistant turns at or after
 *       {@code start_index} (all assistant turns when it is absent);</li>
 *   <li>audio in user/system turns is {@code <|audio_bos|><|AUDIO|><|audio_eos|>} (labels -100); in assistant turns
 *       {@code <|audio_out_bos|><|AUDIO_OUT|><|audio_eos|>}, supervised under the assistant rule; under Whisper
 *       (encode_whisper_embed) an audio-in item longer than 30 s repeats its placeholder once per 30-second chunk;</li>
 *   <li>each turn ends with {@code <|eot_id|>}, or {@code <|eom_id|>} when an assistant turn is followed by another
 *       assistant turn, supervised under the same rule.</li>
 * </ul>
 */
public final class SampleEncoder {

    private final TextTokenizer tokenizer;
    private final TextTokenizer.SpecialTokens sp;
    private final int numCodebooks;
    private final boolean delay;
    private final boolean audioInTokens;
    private final long vocabSize;
    private final boolean whisper;

    public SampleEncoder(TextTokenizer tokenizer, HiggsAudioConfig config) {
        tokenizer.checkCompatible(config);
        this.tokenizer = tokenizer;
        this.sp = tokenizer.specialTokens();
        this.numCodebooks = config.audioNumCodebooks();
        this.delay = config.useDelayPattern();
        this.audioInTokens = config.encodeAudioInTokens();
        this.vocabSize = config.textConfig().vocabSize();
        this.whisper = config.encodeWhisperEmbed();
    }

    /** Code frames per Whisper chunk: 25 per second for 30 s. */
    public static final int CHUNK_FRAMES = (int) (AudioCodes.FRAMES_PER_SECOND * WhisperFeatureExtractor.CHUNK_SECONDS);

    /**
     * Encodes a sample whose audio items (in order of appearance) have the given codes. A text holding a literal
     * {@code <|AUDIO|>} or {@code <|AUDIO_OUT|>} token is {@link Reason#BAD_STRUCTURE}: it would take another clip's place.
     */
    public EncodedSample encode(ChatMlSample sample, List<AudioCodes> codes) throws InvalidSampleException {
        return encode(sample, codes, null);
    }

    /**
     * Encodes a sample whose audio items (in order of appearance) have the given codes and, under Whisper
     * (encode_whisper_embed), the given waveforms (a list parallel to codes; entries of audio-out items are ignored and
     * may be null). Each audio-in item's waveform is cut into 30-second chunks; each chunk becomes its own audio-in
     * clip with its own {@code <|audio_bos|><|AUDIO|><|audio_eos|>}, and the item's codes are cut the same way: chunk j
     * gets frames [750 j, 750 (j+1)), the last chunk the rest. Codes that end before the last chunk starts are
     * {@link Reason#BAD_STRUCTURE} (they do not belong to this audio).
     */
    public EncodedSample encode(ChatMlSample sample, List<AudioCodes> codes, List<Waveform> waveforms) throws InvalidSampleException {
        if (whisper && waveforms == null) {
            throw new IllegalArgumentException(sample.id() + ": the config has encode_whisper_embed; audio-in items need their waveforms");
        }
        if (waveforms != null && waveforms.size() != codes.size()) {
            throw new IllegalArgumentException(sample.id() + ": " + waveforms.size() + " waveforms for " + codes.size() + " codes");
        }
        List<Message> messages = sample.messages();
        LongBuilder ids = new LongBuilder(), labels = new LongBuilder();
        List<EncodedSample.Clip> in = new ArrayList<>(), out = new ArrayList<>();
        int nextAudio = 0;
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            String prefix = (i == 0 ? "<|begin_of_text|>" : "") + "<|start_header_id|>" + m.role().wireName() + "<|end_header_id|>\n\n";
            long[] p = tokenizer.encodeCached(prefix);
            ids.add(p);
            labels.fill(DelayPattern.IGNORE_INDEX, p.length);
            boolean supervised = m.role() == Role.ASSISTANT && (sample.startIndex() == null || i >= sample.startIndex());
            for (Content c : m.content()) {
                switch (c) {
                    case Text t -> {
                        long[] tok = tokenizer.encode(t.text());
                        for (long id : tok) {
                            if (id == sp.audio() || id == sp.audioOut()) {
                                throw new InvalidSampleException(Reason.BAD_STRUCTURE, "message " + i + " (" + m.role().wireName()
                                        + ") has a literal " + (id == sp.audio() ? "<|AUDIO|>" : "<|AUDIO_OUT|>")
                                        + " token in its text; audio goes in {\"type\": \"audio\"} items");
                            }
                        }
                        ids.add(tok);
                        if (supervised) labels.add(tok);
                        else labels.fill(DelayPattern.IGNORE_INDEX, tok.length);
                    }
                    case Audio a -> {
                        if (nextAudio >= codes.size()) {
                            throw new IllegalArgumentException(sample.id() + ": more audio items than the " + codes.size() + " codes given");
                        }
                        int item = nextAudio++;
                        AudioCodes clip = codes.get(item);
                        if (clip.numCodebooks() != numCodebooks) {
                            throw new InvalidSampleException(Reason.WRONG_CODEBOOK_COUNT, "audio in message " + i + " has "
                                    + clip.numCodebooks() + " codebooks, the model has " + numCodebooks);
                        }
                        if (m.role() == Role.ASSISTANT) {
                            long[] tok = {sp.audioOutBos(), sp.audioOut(), sp.audioEos()};
                            ids.add(tok);
                            if (supervised) labels.add(tok);
                            else labels.fill(DelayPattern.IGNORE_INDEX, 3);
                            out.add(new EncodedSample.Clip(clip, supervised));
                        } else if (!whisper) {
                            ids.add(new long[] {sp.audioBos(), sp.audio(), sp.audioEos()});
                            labels.fill(DelayPattern.IGNORE_INDEX, 3);
                            in.add(new EncodedSample.Clip(clip, false));
                        } else {
                            Waveform wave = waveforms.get(item);
                            if (wave == null) throw new IllegalArgumentException(sample.id() + ": no waveform for audio item " + item);
                            List<Waveform> chunks = wave.chunks();
                            int last = chunks.size() - 1;
                            if (clip.frames() <= last * CHUNK_FRAMES) {
                                throw new InvalidSampleException(Reason.BAD_STRUCTURE, String.format(Locale.ROOT,
                                        "audio in message %d (%s): %s lasts %.2f s (%d chunks of 30 s) but its codes %s only %.2f s; "
                                                + "they do not belong to the same audio", i, m.role().wireName(), wave, wave.seconds(),
                                        chunks.size(), clip, clip.seconds()));
                            }
                            for (int j = 0; j <= last; j++) {
                                int start = j * CHUNK_FRAMES, count = j == last ? clip.frames() - start : CHUNK_FRAMES;
                                ids.add(new long[] {sp.audioBos(), sp.audio(), sp.audioEos()});
                                labels.fill(DelayPattern.IGNORE_INDEX, 3);
                                in.add(new EncodedSample.Clip(clip.range(start, count), false, chunks.get(j)));
                            }
                        }
                    }
                }
            }
            boolean eom = m.role() == Role.ASSISTANT && i + 1 < messages.size() && messages.get(i + 1).role() == Role.ASSISTANT;
            long end = eom ? sp.eom() : sp.eot();
            ids.add(end);
            labels.add(supervised ? end : DelayPattern.IGNORE_INDEX);
        }
        if (nextAudio != codes.size()) {
            throw new IllegalArgumentException(sample.id() + ": " + codes.size() + " codes given for " + nextAudio + " audio items");
        }
        long[] idArray = ids.toArray();
        for (long id : idArray) {
            if (id < 0 || id >= vocabSize) {
                throw new TextTokenizer.TokenizerException("tokenizer " + tokenizer.source() + " gave token id " + id + " for sample "
                        + sample.id() + ", outside the model's text vocabulary (text_config.vocab_size " + vocabSize + ")");
            }
        }
        long merged = idArray.length - in.size() - out.size();
        for (EncodedSample.Clip c : in) {
            if (audioInTokens) merged += width(c.frames());
            if (whisper) merged += HiggsAudioWhisper.tokenCount(c.waveform().melFrames());
        }
        for (EncodedSample.Clip c : out) merged += width(c.frames());
        return new EncodedSample(sample.id(), sample.speaker(), idArray, labels.toArray(), in, out, Math.toIntExact(merged));
    }

    /** Columns of one clip in the model: T+2 wrapped in BOS/EOS, plus K-1 with the delay pattern. */
    public int width(int frames) {
        return delay ? DelayPattern.delayedWidth(numCodebooks, frames) : frames + 2;
    }

    /** A growable long array. */
    static final class LongBuilder {
        private long[] a = new long[256];
        private int n;

        void add(long v) {
            if (n == a.length) a = Arrays.copyOf(a, a.length * 2);
            a[n++] = v;
        }

        void add(long[] vs) {
            for (long v : vs) add(v);
        }

        void fill(long v, int count) {
            for (int i = 0; i < count; i++) add(v);
        }

        long[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
