package io.higgs4j.trainer;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.trainer.data.BatchSampler;
import io.higgs4j.trainer.data.Collator;
import io.higgs4j.trainer.data.DataValidator;
import io.higgs4j.trainer.data.DemoData;
import io.higgs4j.trainer.data.EncodedSample;
import io.higgs4j.trainer.data.EvalSplit;
import io.higgs4j.trainer.data.TextTokenizer;
import io.higgs4j.trainer.data.PromptLayout;
import io.higgs4j.trainer.data.ValidationOptions;
import io.higgs4j.trainer.data.ShardedBatches;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/** From a train {@link Request} to a model configuration and the training batches: tokenizer, validation, sampler, collator. */
final class TrainingData {

    private static final Logger LOG = LoggerFactory.getLogger(TrainingData.class);

    /** The demo: this many synthetic samples of this many speakers. */
    static final int DEMO_SAMPLES = 48, DEMO_SPEAKERS = 4;

    /** What train needs: the config, where the weights are (null: random initialisation), and the batches. */
    record Prepared(HiggsAudioConfig config, Path weights, String baseModelName, ShardedBatches batches, String describe,
                    TextTokenizer tokenizer, Path demoDir, List<EncodedSample> evalSamples) {}

    /**
     * What preparing the data reads, and nothing else: the demo flag or the model (modelPath, else a config preset or
     * file) with its tokenizer, the training and held-out data, the batch size, the longest sample, the seed (demo data,
     * evaluation split, shuffling), the prompt layout, Whisper conditioning, and outputDir (where the demo writes its data).
     */
    record Request(boolean demo, Path modelPath, String config, Path tokenizer, Path dataPath, Path evalDataPath,
                   double evalRatio, int batchSize, int maxSeqLen, long seed, PromptLayout promptLayout,
                   boolean encodeWhisperEmbed, Path outputDir) {}

    static Prepared prepare(Request r) throws IOException {
        return prepare(r, 0, 1);
    }

    /** For rank rank of world data-parallel ranks: the batches are that rank's share. */
    static Prepared prepare(Request r, int rank, int world) throws IOException {
        HiggsAudioConfig config;
        Path weights = null, data, demoDir = null;
        String name;
        TextTokenizer tokenizer;
        if (r.demo()) {
            config = HiggsAudioConfig.preset("tiny");
            if (r.encodeWhisperEmbed()) config = config.withWhisper(true); // so the demo data get reference WAVs
            tokenizer = TextTokenizer.demo();
            // the same files on every rank; each rank writes its own copy, so none reads a file another is writing
            demoDir = rank == 0 ? r.outputDir().resolve("demo-data") : r.outputDir().resolve("demo-data").resolve("rank-" + rank);
            data = DemoData.write(demoDir, DEMO_SAMPLES, DEMO_SPEAKERS, config.audioNumCodebooks(),
                    config.audioCodebookSize(), r.seed(), config.encodeWhisperEmbed());
            name = "tiny (demo)";
        } else if (r.modelPath() != null) {
            config = HiggsAudioConfig.fromFile(r.modelPath().resolve("config.json"));
            tokenizer = TextTokenizer.resolve(null, r.modelPath(), r.tokenizer());
            weights = r.modelPath();
            data = r.dataPath();
            // a model from the Hugging Face cache is named by its id, as PEFT's base_model_name_or_path names it
            name = io.higgs4j.trainer.hub.HubCache.repoOf(r.modelPath()).orElse(r.modelPath().toString());
        } else {
            config = HiggsAudioConfig.resolve(r.config());
            tokenizer = TextTokenizer.resolve(r.config(), null, r.tokenizer());
            data = r.dataPath();
            name = r.config() + " (random initialisation)";
        }
        if (r.encodeWhisperEmbed() && !config.encodeWhisperEmbed()) {
            if (config.audioEncoderConfig() == null) {
                throw new IllegalArgumentException("--encode_whisper_embed: the model's config has no audio_encoder_config");
            }
            config = config.withWhisper(true);
            name += " with Whisper";
        }
        tokenizer.checkCompatible(config);
        DataValidator validator = new DataValidator(config, tokenizer, ValidationOptions.defaults().withMaxSeqLen(r.maxSeqLen()).withPromptLayout(r.promptLayout()));
        PrintWriter warnings = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
        DataValidator.Result valid = validator.validate(data, warnings).requireNonEmpty(data);
        LOG.info("data: {} samples read from {}, {} valid, {} skipped", valid.report().total(), data, valid.samples().size(),
                valid.report().invalid());
        List<EncodedSample> eval = null;
        if (r.evalDataPath() != null) {
            DataValidator.Result e = validator.validate(r.evalDataPath(), warnings).requireNonEmpty(r.evalDataPath());
            eval = e.samples();
            LOG.info("evaluation data: {} samples read from {}, {} valid, {} skipped", e.report().total(), r.evalDataPath(),
                    eval.size(), e.report().invalid());
        } else if (r.evalRatio() > 0) {
            EvalSplit.Parts<EncodedSample> parts = EvalSplit.split(valid.samples(), r.evalRatio(), r.seed());
            valid = new DataValidator.Result(parts.train(), valid.report());
            eval = parts.eval();
            LOG.info("held out {} of {} samples for evaluation ({}), {} left to train on", eval.size(), parts.train().size() + eval.size(),
                    parts.bySpeaker() ? eval.stream().map(EncodedSample::speaker).distinct().count() + " whole speakers" : "by sample: "
                            + "not every sample names its speaker", parts.train().size());
        }
        BatchSampler sampler = new BatchSampler(valid.mergedLengths(), r.batchSize(), r.seed());
        Collator collator = new Collator(config);
        return new Prepared(config, weights, r.demo() ? null : name, ShardedBatches.collating(sampler, collator, valid, rank, world), name,
                tokenizer, demoDir, eval);
    }
}
