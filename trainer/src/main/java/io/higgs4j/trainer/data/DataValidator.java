package io.higgs4j.trainer.data;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.trainer.data.AudioCodes.InvalidSampleException;
import io.higgs4j.trainer.data.ChatMlSample.AudioItem;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads and checks a data set before training: every sample is either valid (and encoded) or counted under one
 * {@link Reason} and skipped with a warning (the first {@link ValidationOptions#warnInFull()} in full, then one summary
 * line). Never throws for a bad sample; an unusable data path (missing, empty, a JSON array that is not valid JSON)
 * is a {@link DataException}.
 */
public final class DataValidator {

    private final HiggsAudioConfig config;
    private final TextTokenizer tokenizer;
    private final SampleEncoder encoder;
    private final ValidationOptions options;

    /** Checks the tokenizer against the config first ({@link TextTokenizer#checkCompatible}). */
    public DataValidator(HiggsAudioConfig config, TextTokenizer tokenizer, ValidationOptions options) {
        this.config = config;
        this.tokenizer = tokenizer;
        this.encoder = new SampleEncoder(tokenizer, config);
        this.options = options;
    }

    /** The valid samples, encoded, in file order, and the report. */
    public record Result(List<EncodedSample> samples, ValidationReport report) {
        /** This result, or a DataException when no sample is valid. */
        public Result requireNonEmpty(Path dataPath) {
            if (samples.isEmpty()) {
                throw new DataException("no valid sample in " + dataPath + " (" + report.total() + " read, all invalid: "
                        + reasonSummary(report.reasons()) + ")");
            }
            return this;
        }

        /** The samples at these indices (a batch of {@link BatchSampler}), for {@link Collator#collate}. */
        public List<EncodedSample> batch(int[] indices) {
            List<EncodedSample> out = new ArrayList<>(indices.length);
            for (int i : indices) out.add(samples.get(i));
            return out;
        }

        /** Each sample's merged length, for {@link BatchSampler}. */
        public int[] mergedLengths() {
            return samples.stream().mapToInt(EncodedSample::mergedLength).toArray();
        }
    }

    public SampleEncoder encoder() {
        return encoder;
    }

    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    /** Validates a data file or directory, writing warnings for invalid samples to warnings (may be null). */
    public Result validate(Path dataPath, PrintWriter warnings) throws IOException {
        return validate(ChatMlReader.read(dataPath, options.promptLayout()), warnings);
    }

    /** Validates JSONL lines before they are written to file (prepare-data), as {@link #validate(Path, PrintWriter)} would the file. */
    public Result validateLines(Path file, List<String> lines, PrintWriter warnings) {
        return validate(ChatMlReader.readLines(file, lines, options.promptLayout()), warnings);
    }

    private Result validate(ChatMlReader.Result read, PrintWriter warnings) {
        List<ValidationReport.Invalid> invalid = new ArrayList<>();
        for (ChatMlReader.Failure f : read.failures()) invalid.add(new ValidationReport.Invalid(f.id(), f.reason(), f.message()));
        List<EncodedSample> valid = new ArrayList<>();
        for (ChatMlSample s : read.samples()) {
            try {
                valid.add(check(s));
            } catch (InvalidSampleException e) {
                invalid.add(new ValidationReport.Invalid(s.id(), e.reason(), e.getMessage()));
            }
        }
        Map<Reason, Integer> counts = new EnumMap<>(Reason.class);
        for (ValidationReport.Invalid i : invalid) counts.merge(i.reason(), 1, Integer::sum);
        if (warnings != null) warn(invalid, counts, warnings);
        double ref = 0, target = 0;
        Map<String, Integer> speakers = new TreeMap<>();
        for (EncodedSample e : valid) {
            ref += e.referenceSeconds();
            target += e.targetSeconds();
            if (e.speaker() != null) speakers.merge(e.speaker(), 1, Integer::sum);
        }
        ValidationReport report = new ValidationReport(read.total(), valid.size(), counts, ref / 3600, target / 3600,
                new TreeMap<>(speakers), invalid);
        return new Result(valid, report);
    }

    /**
     * Checks and encodes one sample. Under Whisper (encode_whisper_embed) each audio-in item also needs its waveform:
     * its audio_url a readable WAV ({@link Waveform#open}).
     */
    public EncodedSample check(ChatMlSample s) throws InvalidSampleException {
        List<AudioCodes> codes = new ArrayList<>();
        List<Waveform> waves = config.encodeWhisperEmbed() ? new ArrayList<>() : null;
        for (AudioItem item : s.audioItems()) {
            AudioCodes c = AudioCodes.open(s, item, config.audioNumCodebooks(), config.audioCodebookSize());
            if (waves != null) waves.add(item.isOutput() ? null : Waveform.open(s, item));
            String what = "audio in message " + item.message() + " (" + item.role().wireName() + ", " + c + ")";
            if (c.seconds() < options.minAudioSeconds()) {
                throw new InvalidSampleException(Reason.AUDIO_TOO_SHORT, String.format(Locale.ROOT, "%s lasts %.2f s, under --min_audio_seconds %s",
                        what, c.seconds(), options.minAudioSeconds()));
            }
            if (options.maxAudioSeconds() > 0 && c.seconds() > options.maxAudioSeconds()) {
                throw new InvalidSampleException(Reason.AUDIO_TOO_LONG, String.format(Locale.ROOT, "%s lasts %.2f s, over --max_audio_seconds %s",
                        what, c.seconds(), options.maxAudioSeconds()));
            }
            codes.add(c);
        }
        EncodedSample e = encoder.encode(s, codes, waves);
        if (e.supervisedTextTokens() == 0) {
            throw new InvalidSampleException(Reason.NOTHING_SUPERVISED, "nothing is supervised: no assistant turn"
                    + (s.startIndex() != null ? " at or after start_index " + s.startIndex() : ""));
        }
        if (options.maxSeqLen() > 0 && e.mergedLength() > options.maxSeqLen()) {
            throw new InvalidSampleException(Reason.TOO_LONG, "merged length " + e.mergedLength() + " (" + e.textLength()
                    + " text tokens, " + e.audioIn().size() + " audio-in and " + e.audioOut().size() + " audio-out clips) exceeds --max_seq_len "
                    + options.maxSeqLen());
        }
        return e;
    }

    private void warn(List<ValidationReport.Invalid> invalid, Map<Reason, Integer> counts, PrintWriter out) {
        int n = Math.min(options.warnInFull(), invalid.size());
        for (int i = 0; i < n; i++) {
            ValidationReport.Invalid x = invalid.get(i);
            out.println("warning: skipping " + x.sample() + ": " + x.reason() + ": " + x.message());
        }
        if (invalid.size() > n) {
            Map<Reason, Integer> rest = new EnumMap<>(Reason.class);
            for (ValidationReport.Invalid x : invalid.subList(n, invalid.size())) rest.merge(x.reason(), 1, Integer::sum);
            out.println("warning: skipping " + (invalid.size() - n) + " more invalid samples (" + reasonSummary(rest)
                    + "); the validation report lists each");
        }
        out.flush();
    }

    static String reasonSummary(Map<Reason, Integer> counts) {
        StringBuilder sb = new StringBuilder();
        counts.forEach((r, c) -> {
            if (c > 0) sb.append(sb.isEmpty() ? "" : ", ").append(r.key()).append(' ').append(c);
        });
        return sb.toString();
    }
}
