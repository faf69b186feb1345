package io.higgs4j.trainer;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.trainer.data.BatchSampler;
import io.higgs4j.trainer.data.Collator;
import io.higgs4j.trainer.data.DataValidator;
import io.higgs4j.trainer.data.DemoData;
import io.higgs4j.trainer.data.EncodedSample;
import io.higgs4j.trainer.data.EvalSplit;
import io.higgs4j.trainer.data.TextTokenizer;
import io.higgs4j.trainer.data.ValidationOptions;
import io.higgs4j.trainer.train.BatchSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/** From the command line to a model configuration and the training batches: tokenizer, validation, sampler, collator. */
final class TrainingData {

    private static final Logger LOG = LoggerFactory.getLogger(TrainingData.class);

    /** The demo: this many synthetic samples of this many speakers. */
    static final int DEMO_SAMPLES = 48, DEMO_SPEAKERS = 4;

    /** What train needs: the config, where the weights are (null: random initialisation), and the batches. */
    record Prepared(HiggsAudioConfig config, Path weights, String baseModelName, BatchSource batches, String describe,
                    TextTokenizer tokenizer, Path demoDir, List<EncodedSample> evalSamples) {}

    static Prepared prepare(TrainCommand cmd, Path outputDir) throws IOException {
        return prepare(cmd, outputDir, 0, 1);
    }

    /** For rank rank of world data-parallel ranks: the batches are that rank's share. */
    static Prepared prepare(TrainCommand cmd, Path outputDir, int rank, int world) throws IOException {
        HiggsAudioConfig config;
        Path weights = null, data, demoDir = null;
        String name;
        TextTokenizer tokenizer;
        if (cmd.demo()) {
            config = HiggsAudioConfig.preset("tiny");
            if (cmd.encodeWhisperEmbed()) config = config.withWhisper(true); // so the demo data get reference WAVs
            tokenizer = TextTokenizer.demo();
            // the same files on every rank; each rank writes its own copy, so none reads a file another is writing
            demoDir = rank == 0 ? outputDir.resolve("demo-data") : outputDir.resolve("demo-data").resolve("rank-" + rank);
            data = DemoData.write(demoDir, DEMO_SAMPLES, DEMO_SPEAKERS, config.audioNumCodebooks(),
                    config.audioCodebookSize(), cmd.seed(), config.encodeWhisperEmbed());
            name = "tiny (demo)";
        } else if (cmd.modelPath() != null) {
            config = HiggsAudioConfig.fromFile(cmd.modelPath().resolve("config.json"));
            tokenizer = TextTokenizer.resolve(null, cmd.modelPath(), cmd.tokenizer());
            weights = cmd.modelPath();
            data = cmd.dataPath();
            // a model from the Hugging Face cache is named by its id, as PEFT's base_model_name_or_path names it
            name = io.higgs4j.trainer.hub.HubCache.repoOf(cmd.modelPath()).orElse(cmd.modelPath().toString());
        } else {
            config = HiggsAudioConfig.resolve(cmd.config());
            tokenizer = TextTokenizer.resolve(cmd.config(), null, cmd.tokenizer());
            data = cmd.dataPath();
            name = cmd.config() + " (random initialisation)";
        }
        if (cmd.encodeWhisperEmbed() && !config.encodeWhisperEmbed()) {
            if (config.audioEncoderConfig() == null) {
                throw new IllegalArgumentException("--encode_whisper_embed: the model's config has no audio_encoder_config");
            }
            config = config.withWhisper(true);
            name += " with Whisper";
        }
        tokenizer.checkCompatible(config);
        DataValidator validator = new DataValidator(config, tokenizer, ValidationOptions.defaults().withMaxSeqLen(cmd.maxSeqLen()).withPromptLayout(cmd.promptLayout()));
        PrintWriter warnings = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
        DataValidator.Result valid = validator.validate(data, warnings).requireNonEmpty(data);
        LOG.info("data: {} samples read from {}, {} valid, {} skipped", valid.report().total(), data, valid.samples().size(),
                valid.report().invalid());
        List<EncodedSample> eval = null;
        if (cmd.evalDataPath() != null) {
            DataValidator.Result e = validator.validate(cmd.evalDataPath(), warnings).requireNonEmpty(cmd.evalDataPath());
            eval = e.samples();
            LOG.info("evaluation data: {} samples read from {}, {} valid, {} skipped", e.report().total(), cmd.evalDataPath(),
                    eval.size(), e.report().invalid());
        } else if (cmd.evalRatio() > 0) {
            EvalSplit.Parts<EncodedSample> parts = EvalSplit.split(valid.samples(), cmd.evalRatio(), cmd.seed());
            valid = new DataValidator.Result(parts.train(), valid.report());
            eval = parts.eval();
            LOG.info("held out {} of {} samples for evaluation ({}), {} left to train on", eval.size(), parts.train().size() + eval.size(),
                    parts.bySpeaker() ? eval.stream().map(EncodedSample::speaker).distinct().count() + " whole speakers" : "by sample: "
                            + "not every sample names its speaker", parts.train().size());
        }
        BatchSampler sampler = new BatchSampler(valid.mergedLengths(), cmd.batchSize(), cmd.seed());
        Collator collator = new Collator(config);
        return new Prepared(config, weights, cmd.demo() ? null : name, new io.higgs4j.trainer.train.SampledBatches(sampler, collator, valid, rank, world), name,
                tokenizer, demoDir, eval);
    }
}
