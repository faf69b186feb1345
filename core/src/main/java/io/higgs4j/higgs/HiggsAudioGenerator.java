package io.higgs4j.higgs;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Generation with Higgs Audio, step for step the reference's {@code HiggsAudioModel._sample} (batch 1, KV cache):
 * <ul>
 *   <li>text mode: the next text token from the text head;</li>
 *   <li>after {@code <|audio_out_bos|>} (AUDIO_INIT): {@code <|AUDIO_OUT|>} is forced and a column of stream BOS
 *       starts a new clip;</li>
 *   <li>after {@code <|AUDIO_OUT|>}: the next audio column from the audio head. With the delay pattern, codebooks
 *       beyond the current delay are forced to stream BOS; once a codebook emits stream EOS, every codebook below the
 *       first such one is EOS, and the remaining delays count down, one codebook per step; when none is left,
 *       {@code <|audio_eos|>} closes the clip and text mode resumes.</li>
 * </ul>
 * Generation stops after a stop token or after maxNewTokens steps (each audio column is a step). The returned sequence
 * is the prompt's input ids plus the generated tokens, with one {@code <|AUDIO_OUT|>} per generated clip; each clip
 * is K x columns in delay-pattern form starting with its BOS column (as the reference returns them).
 */
public final class HiggsAudioGenerator {

    /** Called after every step: steps done, and audio frames generated so far. */
    @FunctionalInterface
    public interface Progress {
        void onStep(int steps, int audioColumns);
    }

    /**
     * What generation gave: the sequence (prompt ids plus generated tokens), the clips (delay-pattern form), and how
     * long the prompt (prefillNanos, over promptPositions merged positions) and the steps after it took.
     */
    public record Result(long[] sequence, List<long[][]> audio, int promptLength, int newTokens, long promptPositions,
                         long prefillNanos, long decodeNanos) {

        /** The generated tokens only. */
        public long[] generated() {
            return Arrays.copyOfRange(sequence, promptLength, sequence.length);
        }

        /** Audio columns generated (every clip's columns, BOS columns included). */
        public int audioColumns() {
            int n = 0;
            for (long[][] clip : audio) n += clip[0].length;
            return n;
        }
    }

    private enum Mode { TEXT, AUDIO_INIT, AUDIO_IN_PROGRESS }

    private final HiggsAudioModel model;
    private final HiggsAudioConfig config;
    private final int k;

    public HiggsAudioGenerator(HiggsAudioModel model) {
        this.model = model;
        this.config = model.config;
        this.k = config.audioNumCodebooks();
    }

    /** {@link #generate(HiggsAudioBatch, GenerationConfig, Progress)} without progress reports. */
    public Result generate(HiggsAudioBatch prompt, GenerationConfig gen) {
        return generate(prompt, gen, null);
    }

    /**
     * Generates from a prompt of one sequence in the collator's form (input ids [1, S]; audio-in and audio-out codes
     * with their start columns, audio-out in delay-pattern form). The model runs in eval mode and without autograd;
     * its training flag is restored afterwards.
     */
    public Result generate(HiggsAudioBatch prompt, GenerationConfig gen, Progress progress) {
        if (prompt.inputIds().dim() != 2 || prompt.inputIds().size(0) != 1) {
            throw new IllegalArgumentException("generation takes one sequence: input_ids [1, S], got " + prompt.inputIds());
        }
        long[] promptIds = prompt.inputIds().toLongArray();
        if (promptIds.length == 0) throw new IllegalArgumentException("the prompt is empty");
        boolean wasTraining = model.isTraining();
        model.train(false);
        if (gen.seed() != null) Torch.manualSeed(gen.seed());
        try (var noGrad = Torch.noGrad(); KvCache cache = new KvCache(model, capacity(prompt, gen))) {
            return run(prompt, promptIds, gen, cache, progress);
        } finally {
            model.train(wasTraining);
        }
    }

    /** Room for the prompt and every new token, rounded up to a multiple of 256 (the cache doubles if it is exceeded). */
    private long capacity(HiggsAudioBatch prompt, GenerationConfig gen) {
        long columns = prompt.inputIds().size(1) + gen.maxNewTokens();
        if (prompt.audioInIds() != null) columns += prompt.audioInIds().size(1);
        if (prompt.audioOutIds() != null) columns += prompt.audioOutIds().size(1);
        return (columns + 255) / 256 * 256;
    }

    private Result run(HiggsAudioBatch prompt, long[] promptIds, GenerationConfig gen, KvCache cache, Progress progress) {
        long bos = config.audioStreamBosId(), eos = config.audioStreamEosId();
        long audioOut = config.audioOutTokenIdx(), audioOutBos = config.audioOutBosTokenId(), audioEos = config.audioEosTokenId();
        List<Long> sequence = new ArrayList<>();
        for (long id : promptIds) sequence.add(id);
        // Every audio-out column so far, the prompt's included: the window of repetition-aware sampling.
        List<long[]> audioOutColumns = columns(prompt.audioOutIds());
        List<List<long[]>> clips = new ArrayList<>();
        int numDelay = 0;
        Integer numRemainingDelays = null;
        if (promptIds[promptIds.length - 1] == audioOut) {
            // The prompt ends inside a clip: continue it (its last clip is returned too, as the reference does).
            long[] starts = prompt.audioOutIdsStart() == null ? new long[0] : prompt.audioOutIdsStart().toLongArray();
            if (starts.length == 0) throw new IllegalArgumentException("the prompt ends with <|AUDIO_OUT|> but has no audio-out clip");
            clips.add(new ArrayList<>(audioOutColumns.subList((int) starts[starts.length - 1], audioOutColumns.size())));
            if (config.useDelayPattern()) {
                long[] last = audioOutColumns.getLast();
                numDelay = k - (int) Arrays.stream(last).filter(c -> c == bos).count();
                int firstEos = firstIndexOf(last, eos);
                if (firstEos >= 0) numRemainingDelays = k - firstEos - 1;
            }
        }

        long t0 = System.nanoTime(), prefillNanos = 0, promptPositions = 0;
        Tensor hidden = null;
        int steps = 0;
        int generatedColumns = 0;
        try {
            while (true) {
                long last = sequence.getLast();
                Mode mode = last == audioOutBos ? Mode.AUDIO_INIT : last == audioOut ? Mode.AUDIO_IN_PROGRESS : Mode.TEXT;
                Tensor next;
                if (steps == 0) {
                    next = Scope.disown(model.prefill(prompt, cache));
                    prefillNanos = System.nanoTime() - t0;
                    promptPositions = cache.positions();
                } else {
                    try (Scope s = Scope.open()) {
                        Tensor embedding = mode == Mode.AUDIO_IN_PROGRESS
                                ? model.embedAudioColumn(audioOutColumns.getLast()) : model.embedText(last);
                        next = Scope.disown(model.step(embedding, mode == Mode.AUDIO_IN_PROGRESS, cache));
                    }
                }
                if (hidden != null) hidden.close();
                hidden = next;

                long token;
                if (mode == Mode.AUDIO_IN_PROGRESS) {
                    long[] column = sampleAudio(hidden, audioOutColumns, gen);
                    token = audioOut;
                    if (config.useDelayPattern()) {
                        if (numDelay + 1 < k) {
                            Arrays.fill(column, numDelay + 1, k, bos);
                            numDelay++;
                        }
                        if (numRemainingDelays != null) {
                            Arrays.fill(column, 0, k - numRemainingDelays, eos);
                            numRemainingDelays--;
                        } else {
                            int firstEos = firstIndexOf(column, eos);
                            if (firstEos >= 0) {
                                Arrays.fill(column, 0, firstEos, eos);
                                numRemainingDelays = k - firstEos - 1;
                            }
                        }
                        if (numRemainingDelays != null && numRemainingDelays <= 0) {
                            token = audioEos;
                            numDelay = 0;
                            numRemainingDelays = null;
                        }
                    }
                    audioOutColumns.add(column);
                    clips.getLast().add(column);
                    generatedColumns++;
                } else if (mode == Mode.AUDIO_INIT) {
                    token = audioOut;
                    long[] column = new long[k];
                    Arrays.fill(column, bos);
                    audioOutColumns.add(column);
                    clips.add(new ArrayList<>(List.of(column)));
                    generatedColumns++;
                } else {
                    try (Scope s = Scope.open()) {
                        token = TokenSampler.next(TokenSampler.asFloat(model.textLogits(hidden)), gen)[0];
                    }
                }
                // One <|AUDIO_OUT|> stands for a whole clip in the sequence.
                if (mode != Mode.AUDIO_IN_PROGRESS || token != audioOut) sequence.add(token);
                steps++;
                if (progress != null) progress.onStep(steps, generatedColumns);
                if (gen.isStop(token) || steps >= gen.maxNewTokens()) break;
            }
        } finally {
            if (hidden != null) hidden.close();
        }
        long decodeNanos = System.nanoTime() - t0 - prefillNanos;
        List<long[][]> audio = new ArrayList<>();
        for (List<long[]> clip : clips) audio.add(rows(clip));
        return new Result(sequence.stream().mapToLong(Long::longValue).toArray(), audio, promptIds.length, steps,
                promptPositions, prefillNanos, decodeNanos);
    }

    /** The next audio column from the audio head, with repetition-aware resampling. */
    private long[] sampleAudio(Tensor hidden, List<long[]> audioOutColumns, GenerationConfig gen) {
        try (Scope s = Scope.open()) {
            Tensor logits = TokenSampler.asFloat(model.audioLogits(hidden));
            long[] column = TokenSampler.next(logits, gen);
            if (gen.rasWinLen() != null) {
                int from = Math.max(0, audioOutColumns.size() - gen.rasWinLen());
                List<Long> repeated = new ArrayList<>();
                for (int row = 0; row < k; row++) {
                    int count = 0;
                    for (int c = from; c < audioOutColumns.size(); c++) if (audioOutColumns.get(c)[row] == column[row]) count++;
                    if (count >= gen.rasWinMaxNumRepeat()) repeated.add((long) row);
                }
                if (!repeated.isEmpty()) {
                    Tensor rows = Tensor.of(repeated.stream().mapToLong(Long::longValue).toArray()).to(logits.device());
                    long[] resampled = TokenSampler.multinomial(logits.indexSelect(0, rows).softmax(-1), true);
                    for (int i = 0; i < resampled.length; i++) column[(int) (long) repeated.get(i)] = resampled[i];
                }
            }
            return column;
        }
    }

    /**
     * The clips of a result as one K x T code matrix for the audio tokenizer, as the official examples/generation.py
     * makes it: each clip's delay reverted, values clamped into the codebook [0, C-1], its first (BOS) and last
     * column dropped, the clips concatenated in time. A clip cut off before it had K + 1 columns gives no frames.
     */
    public long[][] audioCodes(Result result) {
        long max = config.audioCodebookSize() - 1;
        List<long[]> rows = new ArrayList<>();
        for (int r = 0; r < k; r++) rows.add(new long[0]);
        for (long[][] clip : result.audio()) {
            int frames = config.useDelayPattern() ? clip[0].length - k + 1 - 2 : clip[0].length - 2;
            if (frames <= 0) continue;
            for (int r = 0; r < k; r++) {
                int from = (config.useDelayPattern() ? r : 0) + 1;
                long[] row = rows.get(r), grown = Arrays.copyOf(row, row.length + frames);
                for (int t = 0; t < frames; t++) grown[row.length + t] = Math.clamp(clip[r][from + t], 0, max);
                rows.set(r, grown);
            }
        }
        return rows.toArray(new long[0][]);
    }

    private static int firstIndexOf(long[] column, long value) {
        for (int i = 0; i < column.length; i++) if (column[i] == value) return i;
        return -1;
    }

    private List<long[]> columns(Tensor codes) {
        List<long[]> out = new ArrayList<>();
        if (codes == null || codes.numel() == 0) return out;
        if (codes.dim() != 2 || codes.size(0) != k) throw new IllegalArgumentException("audio_out_ids must be [" + k + ", N], got " + codes);
        long[] flat = codes.toLongArray();
        int n = (int) codes.size(1);
        for (int c = 0; c < n; c++) {
            long[] column = new long[k];
            for (int r = 0; r < k; r++) column[r] = flat[r * n + c];
            out.add(column);
        }
        return out;
    }

    private long[][] rows(List<long[]> clip) {
        long[][] out = new long[k][clip.size()];
        for (int c = 0; c < clip.size(); c++) for (int r = 0; r < k; r++) out[r][c] = clip.get(c)[r];
        return out;
    }
}
