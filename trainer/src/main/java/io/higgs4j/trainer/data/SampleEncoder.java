package io.higgs4j.trainer.data;

import io.higgs4j.higgs.DelayPattern;
import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.trainer.data.AudioCodes.InvalidSampleException;
import io.higgs4j.trainer.data.ChatMlSample.Audio;
import io.higgs4j.trainer.data.ChatMlSample.Content;
import io.higgs4j.trainer.data.ChatMlSample.Message;
import io.higgs4j.trainer.data.ChatMlSample.Role;
import io.higgs4j.trainer.data.ChatMlSample.Text;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A ChatML sample to token ids and labels (spec section 7), as the reference's {@code prepare_chatml_sample}:
 * <ul>
 *   <li>every turn starts {@code <|start_header_id|>{role}<|end_header_id|>\n\n} (the first also with
 *       {@code <|begin_of_text|>}), labels -100;</li>
 *   <li>text is encoded without special tokens; it is supervised (labels = ids) only in assistant turns at or after
 *       {@code start_index} (all assistant turns when it is absent);</li>
 *   <li>audio in user/system turns is {@code <|audio_bos|><|AUDIO|><|audio_eos|>} (labels -100); in assistant turns
 *       {@code <|audio_out_bos|><|AUDIO_OUT|><|audio_eos|>}, supervised under the assistant rule;</li>
 *   <li>each turn ends with {@code <|eot_id|>}, or {@code <|eom_id|>} when an assistant turn is followed by another
 *       assistant turn, supervised under the same rule.</li>
 * </ul>
 */
public final class SampleEncoder {

    private final HiggsTokenizer tokenizer;
    private final HiggsTokenizer.SpecialTokens sp;
    private final int numCodebooks;
    private final boolean delay;
    private final boolean audioInTokens;
    private final long vocabSize;

    public SampleEncoder(HiggsTokenizer tokenizer, HiggsAudioConfig config) {
        tokenizer.checkCompatible(config);
        this.tokenizer = tokenizer;
        this.sp = tokenizer.specialTokens();
        this.numCodebooks = config.audioNumCodebooks();
        this.delay = config.useDelayPattern();
        this.audioInTokens = config.encodeAudioInTokens();
        this.vocabSize = config.textConfig().vocabSize();
    }

    /**
     * Encodes a sample whose audio items (in order of appearance) have the given codes. A text holding a literal
     * {@code <|AUDIO|>} or {@code <|AUDIO_OUT|>} token is {@link Reason#BAD_STRUCTURE}: it would take another clip's place.
     */
    public EncodedSample encode(ChatMlSample sample, List<AudioCodes> codes) throws InvalidSampleException {
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
                        AudioCodes clip = codes.get(nextAudio++);
                        if (clip.numCodebooks() != numCodebooks) {
                            throw new InvalidSampleException(Reason.WRONG_CODEBOOK_COUNT, "audio in message " + i + " has "
                                    + clip.numCodebooks() + " codebooks, the model has " + numCodebooks);
                        }
                        long[] tok = m.role() == Role.ASSISTANT
                                ? new long[] {sp.audioOutBos(), sp.audioOut(), sp.audioEos()}
                                : new long[] {sp.audioBos(), sp.audio(), sp.audioEos()};
                        ids.add(tok);
                        if (m.role() == Role.ASSISTANT) {
                            if (supervised) labels.add(tok);
                            else labels.fill(DelayPattern.IGNORE_INDEX, 3);
                            out.add(new EncodedSample.Clip(clip, supervised));
                        } else {
                            labels.fill(DelayPattern.IGNORE_INDEX, 3);
                            in.add(new EncodedSample.Clip(clip, false));
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
                throw new HiggsTokenizer.TokenizerException("tokenizer " + tokenizer.source() + " gave token id " + id + " for sample "
                        + sample.id() + ", outside the model's text vocabulary (text_config.vocab_size " + vocabSize + ")");
            }
        }
        long merged = idArray.length - in.size() - out.size();
        for (EncodedSample.Clip c : in) if (audioInTokens) merged += width(c.frames());
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
