package io.higgs4j.trainer;

import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioLoss;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.higgs.HiggsAudioWeights;
import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.nn.Init;
import io.higgs4j.optim.AdamW;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Torch;
import io.higgs4j.trainer.dist.Backend;
import io.higgs4j.trainer.dist.ProcessGroup;
import io.higgs4j.trainer.dist.LauncherWatch;
import io.higgs4j.trainer.dist.ProcessGroups;
import io.higgs4j.trainer.generate.SamplePrompts;
import io.higgs4j.trainer.train.CheckpointStore;
import io.higgs4j.trainer.train.Evaluation;
import io.higgs4j.trainer.train.FullFinetune;
import io.higgs4j.trainer.train.Trained;
import io.higgs4j.trainer.train.LossPlot;
import io.higgs4j.trainer.train.Memory;
import io.higgs4j.trainer.train.MemoryPlan;
import io.higgs4j.trainer.train.LrSchedule;
import io.higgs4j.trainer.train.Progress;
import io.higgs4j.trainer.train.StepMetrics;
import io.higgs4j.trainer.train.ResumePoint;
import io.higgs4j.trainer.train.Trainer;
import io.higgs4j.trainer.train.TrainingArgs;
import io.higgs4j.trainer.train.WhisperTowerCache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** LoRA fine-tuning of Higgs Audio v2 on ChatML voice-cloning data; leaves a PEFT adapter in --output_dir. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Fine-tune Higgs Audio v2 with LoRA on ChatML data and save a PEFT adapter.")
public final class TrainCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(TrainCommand.class);

    @Spec CommandSpec spec;

    @Option(names = "--demo", description = "train the tiny model on a synthetic voice-cloning set shipped in the jar (under a minute on 2 cores)")
    boolean demo;

    @Option(names = {"--data_path", "--data-path"}, description = "ChatML data: a JSON array or JSONL file")
    Path dataPath;

    @Option(names = {"--output_dir", "--output-dir"}, required = true, description = "where checkpoints, metrics and the adapter go")
    Path outputDir;

    @Option(names = {"--model_path", "--model-path"}, paramLabel = "DIR|ID",
            description = "model directory: config.json, safetensors weights, tokenizer.json; or a Hugging Face id owner/name[@revision] "
                    + "(bosonai/higgs-audio-v2-generation-3B-base), fetched into the Hugging Face cache")
    Path modelPath;

    @Option(names = "--config", description = "instead of --model_path: a preset (tiny, small) or a config.json, randomly initialised")
    String config;

    @Option(names = "--tokenizer", description = "tokenizer.json when it is not in --model_path (the tiny preset has a demo one)")
    Path tokenizer;

    @Option(names = {"--encode_whisper_embed", "--encode-whisper-embed"},
            description = "condition on the reference audio through Whisper (each <|AUDIO|> becomes Whisper tokens, then its codes)")
    boolean encodeWhisperEmbed;

    @Option(names = {"--whisper_model", "--whisper-model"},
            paramLabel = "DIR|ID", description = "a Hugging Face Whisper checkpoint whose encoder (model.encoder.*) becomes the audio tower: "
                    + "a directory or an id (openai/whisper-large-v3, optionally @revision) fetched into the Hugging Face cache")
    Path whisperModel;

    @Option(names = {"--whisper_cache", "--whisper-cache"}, defaultValue = "on", paramLabel = "on|off",
            description = "keep each clip's Whisper tower output (in memory, then on disk) instead of running the tower on its padded "
                    + "30-second window at every step; only while the tower is frozen (default: ${DEFAULT-VALUE})")
    String whisperCache;

    @Option(names = {"--whisper_cache_mb", "--whisper-cache-mb"}, defaultValue = "1024",
            description = "memory for cached Whisper tower outputs, the least recently used dropped first; 0: disk only (default: ${DEFAULT-VALUE})")
    long whisperCacheMb;

    @Option(names = {"--whisper_cache_dir", "--whisper-cache-dir"}, paramLabel = "DIR|none",
            description = "where cached Whisper tower outputs stay between runs, in a folder per tower "
                    + "(default: whisper_cache beside --data_path; none: memory only)")
    Path whisperCacheDir;

    @Option(names = {"--audio_tokenizer_path", "--audio-tokenizer-path"}, paramLabel = "DIR|ID",
            description = "audio tokenizer directory (config.json, model.pth or model.safetensors) or its Hugging Face id "
                    + "(bosonai/higgs-audio-v2-tokenizer): audio without a codes file is encoded "
                    + "before training and its codes written beside it as NAME.codes.npy, so later runs reuse them")
    Path audioTokenizerPath;

    @Option(names = {"--prompt_layout", "--prompt-layout"}, defaultValue = "train", paramLabel = "official|train",
            description = io.higgs4j.trainer.data.PromptLayout.OPTION_HELP)
    String promptLayout;

    @Option(names = {"--eval_data_path", "--eval-data-path"}, paramLabel = "FILE",
            description = "held-out ChatML data (the formats of --data_path), evaluated every --eval_steps and at the end")
    Path evalDataPath;

    @Option(names = {"--eval_ratio", "--eval-ratio"}, defaultValue = "0",
            description = "instead of --eval_data_path: hold out this share of --data_path, by speaker when every sample names one "
                    + "(no voice in both), seeded by --seed (default: ${DEFAULT-VALUE}, none)")
    double evalRatio;

    @Option(names = {"--eval_steps", "--eval-steps"}, defaultValue = "0",
            description = "evaluate every N optimizer steps (and at the end); 0: at every --save_steps (default: ${DEFAULT-VALUE})")
    int evalSteps;

    @Option(names = {"--eval_batch_size", "--eval-batch-size"}, defaultValue = "0",
            description = "samples per evaluation batch; 0: --batch_size (default: ${DEFAULT-VALUE})")
    int evalBatchSize;

    @Option(names = {"--early_stopping_patience", "--early-stopping-patience"}, defaultValue = "0",
            description = "stop after this many evaluations without a better eval_loss; 0: never (default: ${DEFAULT-VALUE})")
    int earlyStoppingPatience;

    @Option(names = {"--sample_prompts", "--sample-prompts"}, paramLabel = "PROMPTS.jsonl",
            description = "listen while training: each line {\"name\", \"text\", \"ref_text\", \"ref_codes\" or \"ref_audio\", \"seed\"?, "
                    + "\"max_new_tokens\"?} is generated every --sample_steps into samples/step-N/NAME.codes.npy (and NAME.wav with "
                    + "--audio_tokenizer_path); the demo brings one ('none': no samples)")
    Path samplePrompts;

    @Option(names = {"--sample_steps", "--sample-steps"}, defaultValue = "0",
            description = "generate the sample prompts every N optimizer steps and at the end; 0: at every --save_steps (default: ${DEFAULT-VALUE})")
    int sampleSteps;

    @Option(names = {"--batch_size", "--batch-size"}, defaultValue = "1", description = "samples per micro-batch (default: ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = {"--learning_rate", "--learning-rate"}, defaultValue = "2e-4", description = "peak learning rate (default: ${DEFAULT-VALUE})")
    double learningRate;

    @Option(names = {"--num_epochs", "--num-epochs"}, defaultValue = "1", description = "passes over the data (default: ${DEFAULT-VALUE})")
    int numEpochs;

    @Option(names = {"--max_steps", "--max-steps"}, defaultValue = "-1", description = "optimizer steps; overrides --num_epochs when > 0 (default: ${DEFAULT-VALUE})")
    long maxSteps;

    @Option(names = {"--gradient_accumulation_steps", "--gradient-accumulation-steps"}, defaultValue = "1",
            description = "micro-batches per optimizer step (default: ${DEFAULT-VALUE})")
    int gradientAccumulationSteps;

    @Option(names = {"--warmup_steps", "--warmup-steps"}, defaultValue = "0", description = "linear warmup steps (default: ${DEFAULT-VALUE})")
    long warmupSteps;

    @Option(names = {"--lr_scheduler", "--lr-scheduler"}, defaultValue = "cosine", description = "cosine, linear or constant (default: ${DEFAULT-VALUE})")
    String lrScheduler;

    @Option(names = {"--weight_decay", "--weight-decay"}, defaultValue = "0.01", description = "AdamW weight decay (default: ${DEFAULT-VALUE})")
    double weightDecay;

    @Option(names = {"--max_grad_norm", "--max-grad-norm"}, defaultValue = "1.0", description = "clip gradients to this global norm; 0 disables (default: ${DEFAULT-VALUE})")
    double maxGradNorm;

    @Option(names = {"--save_steps", "--save-steps"}, defaultValue = "500", description = "checkpoint every N steps; 0: only at the end (default: ${DEFAULT-VALUE})")
    int saveSteps;

    @Option(names = {"--save_total_limit", "--save-total-limit"}, defaultValue = "3", description = "keep the newest N checkpoints; 0 keeps all (default: ${DEFAULT-VALUE})")
    int saveTotalLimit;

    @Option(names = {"--logging_steps", "--logging-steps"}, defaultValue = "1", description = "log every N steps when not on a terminal (default: ${DEFAULT-VALUE})")
    int loggingSteps;

    @CommandLine.Mixin LoraOptions lora;

    @Option(names = {"--audio_loss_reduction", "--audio-loss-reduction"}, defaultValue = "mean",
            description = "mean or sum over the codebooks' losses (default: ${DEFAULT-VALUE})")
    String audioLossReduction;

    @Option(names = {"--text_loss_weight", "--text-loss-weight"}, defaultValue = "1.0", description = "weight of the text loss (default: ${DEFAULT-VALUE})")
    double textLossWeight;

    @Option(names = {"--max_seq_len", "--max-seq-len"}, defaultValue = "2048", description = "longest merged sample; longer ones are reported and skipped (default: ${DEFAULT-VALUE})")
    int maxSeqLen;

    @Option(names = "--finetune", defaultValue = "lora", paramLabel = "lora|full",
            description = "lora: adapters (and --modules_to_save) on a frozen base; full: every weight of the text and audio paths, in float32"
                    + " with float32 gradients and AdamW state (16 bytes per parameter), saved in the released layout (default: ${DEFAULT-VALUE})")
    String finetune;

    @Option(names = {"--gradient_checkpointing", "--gradient-checkpointing"},
            description = "keep only each decoder layer's input and re-run the layer in backward: activations of one layer instead of all, for about one more forward per step")
    boolean gradientCheckpointing;

    @Option(names = "--dtype", description = "bf16 (frozen base in bf16, trainable weights in fp32) or fp32 (default: bf16 on CUDA, fp32 on CPU)")
    String dtype;

    @Option(names = "--device", description = "cpu or cuda:N (default: cuda:0 when CUDA is available, else cpu)")
    String device;

    @Option(names = "--backend", description = "collectives of a data-parallel run started by 'higgs4j launch': cpu (TCP) or nccl"
            + " (default: nccl on CUDA, else cpu); ignored in a single process")
    String backend;

    @Option(names = "--seed", defaultValue = "42", description = "seed of initialisation, shuffling and dropout (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--resume", arity = "0..1", fallbackValue = "latest", paramLabel = "CHECKPOINT",
            description = "continue from the latest checkpoint in --output_dir, or from the one given")
    String resume;

    private ResumePoint resumePoint;

    private CommandLine.ParameterException bad(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    /** --backend, --finetune and --dtype as validate() parsed them (null: not given). */
    private Backend backendChoice;
    private MemoryPlan.Finetune finetuneChoice;
    private DType dtypeChoice;

    void validate() {
        if (!demo && dataPath == null) throw bad("give --data_path (or --demo)");
        if (Files.exists(outputDir) && !Files.isDirectory(outputDir)) throw bad("--output_dir " + outputDir + " is a file, not a directory");
        if (!demo && (modelPath == null) == (config == null)) throw bad("give either --model_path or --config");
        if (demo && (modelPath != null || dataPath != null)) throw bad("--demo brings its own model and data: drop --model_path and --data_path");
        if (batchSize < 1) throw bad("--batch_size must be >= 1, got " + batchSize);
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) throw bad("--learning_rate must be > 0, got " + learningRate);
        if (numEpochs < 1) throw bad("--num_epochs must be >= 1, got " + numEpochs);
        if (gradientAccumulationSteps < 1) throw bad("--gradient_accumulation_steps must be >= 1, got " + gradientAccumulationSteps);
        if (warmupSteps < 0) throw bad("--warmup_steps must be >= 0, got " + warmupSteps);
        requireFiniteNonNegative("--weight_decay", weightDecay, "");
        requireFiniteNonNegative("--max_grad_norm", maxGradNorm, " (0 turns clipping off)");
        requireFiniteNonNegative("--text_loss_weight", textLossWeight, "");
        if (saveSteps < 0) throw bad("--save_steps must be >= 0, got " + saveSteps);
        if (saveTotalLimit < 0) throw bad("--save_total_limit must be >= 0 (0 keeps every checkpoint), got " + saveTotalLimit);
        if (loggingSteps < 1) throw bad("--logging_steps must be >= 1, got " + loggingSteps);
        lora.validate(spec.commandLine());
        if (maxSeqLen < 8) throw bad("--max_seq_len must be >= 8, got " + maxSeqLen);
        if (sampleSteps < 0) throw bad("--sample_steps must be >= 0, got " + sampleSteps);
        if (evalDataPath != null && evalRatio != 0) throw bad("give --eval_data_path or --eval_ratio, not both");
        if (evalRatio != 0 && !(evalRatio > 0 && evalRatio < 1)) throw bad("--eval_ratio must be in (0, 1), got " + evalRatio);
        if (evalDataPath != null && !Files.exists(evalDataPath)) throw bad("--eval_data_path " + evalDataPath + " does not exist");
        if (evalSteps < 0) throw bad("--eval_steps must be >= 0, got " + evalSteps);
        if (evalBatchSize < 0) throw bad("--eval_batch_size must be >= 0, got " + evalBatchSize);
        if (earlyStoppingPatience < 0) throw bad("--early_stopping_patience must be >= 0, got " + earlyStoppingPatience);
        boolean evaluating = evalDataPath != null || evalRatio != 0;
        var parsed = spec.commandLine().getParseResult();
        for (String o : List.of("--eval_steps", "--eval_batch_size", "--early_stopping_patience")) {
            if (!evaluating && parsed.hasMatchedOption(o)) throw bad(o + " needs held-out data: --eval_data_path or --eval_ratio");
        }
        if (samplePrompts != null && !noSamples() && !Files.isRegularFile(samplePrompts)) throw bad("--sample_prompts " + samplePrompts + " is not a file");
        if (whisperModel != null && !encodeWhisperEmbed) throw bad("--whisper_model needs --encode_whisper_embed");
        for (String o : List.of("--whisper_cache", "--whisper_cache_mb", "--whisper_cache_dir")) {
            if (!encodeWhisperEmbed && parsed.hasMatchedOption(o)) throw bad(o + " needs --encode_whisper_embed");
        }
        if (!List.of("on", "off").contains(whisperCache)) throw bad("--whisper_cache must be on or off, got " + whisperCache);
        if (whisperCacheMb < 0 || whisperCacheMb > Long.MAX_VALUE >> 20) throw bad("--whisper_cache_mb must be >= 0, got " + whisperCacheMb);
        if (whisperModel != null && !Files.exists(whisperModel) && !io.higgs4j.trainer.hub.HubId.isHubId(whisperModel.toString())) {
            throw bad("--whisper_model " + whisperModel + " does not exist (nor is it a Hugging Face id owner/name[@revision])");
        }
        try {
            LrSchedule.Kind.parse(lrScheduler);
            HiggsAudioLoss.AudioReduction.valueOf(audioLossReduction.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage().startsWith("No enum") ? "--audio_loss_reduction must be mean or sum, got " + audioLossReduction : e.getMessage());
        }
        try {
            backendChoice = backend != null ? Backend.parse(backend) : null;
            finetuneChoice = MemoryPlan.Finetune.parse(finetune);
            dtypeChoice = dtype != null ? SharedOptions.dtype(dtype) : null;
            io.higgs4j.trainer.data.PromptLayout.parse(promptLayout);
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage());
        }
        SharedOptions.checkDevice(device, this::bad);
        if (finetuneChoice == MemoryPlan.Finetune.FULL && dtypeChoice == DType.BFLOAT16) {
            throw bad("--finetune full trains float32 weights (their own master weights): --dtype bf16 is not supported with it; use --dtype fp32");
        }
    }

    /** Refuses value unless it is a finite number >= 0; !(x >= 0) refuses NaN, which every comparison lets through. */
    private void requireFiniteNonNegative(String option, double value, String note) {
        if (!(value >= 0) || !Double.isFinite(value)) throw bad(option + " must be a finite number >= 0" + note + ", got " + value);
    }

    /** --demo's own defaults, for the options not given on the command line: under a minute on 2 CPU cores. */
    void applyDemoDefaults() {
        var parsed = spec.commandLine().getParseResult();
        if (!parsed.hasMatchedOption("--learning_rate")) learningRate = 3e-3;
        if (!parsed.hasMatchedOption("--max_steps")) maxSteps = 240;
        if (!parsed.hasMatchedOption("--batch_size")) batchSize = 4;
        if (!parsed.hasMatchedOption("--warmup_steps")) warmupSteps = 10;
        if (!parsed.hasMatchedOption("--save_steps")) saveSteps = 100;
        if (!parsed.hasMatchedOption("--logging_steps")) loggingSteps = 20;
        if (!parsed.hasMatchedOption("--lora_dropout")) lora.dropout = 0.0;
    }

    @Override
    public Integer call() throws Exception {
        if (demo) applyDemoDefaults();
        if (audioTokenizerPath != null && demo) throw new IllegalArgumentException("--audio_tokenizer_path: the demo ships its codes; use it with --data_path");
        validate();
        // The checkpoint to resume from is read and checked before anything is loaded or written.
        resumePoint = resume == null ? null : ResumePoint.read(resumePath());
        checkOutputDirHistory();
        if (resumePoint != null) {
            if (resumePoint.state().seed() != seed) {
                throw bad("--seed " + seed + " differs from the seed of " + resumePoint.checkpoint() + " (" + resumePoint.state().seed()
                        + "): a resumed run must use the same seed");
            }
            resumePoint.checkFinetune(finetuneChoice == MemoryPlan.Finetune.FULL);
            resumePoint.checkOptions(lora.r, lora.alpha, lora.useRslora, LoraConfig.targets(lora.targets));
            if (maxSteps > 0 && resumePoint.finished(maxSteps)) {
                LOG.info(resumePoint.nothingToDo(maxSteps));
                return 0;
            }
        }
        // Hub ids become their snapshots in the Hugging Face cache (downloaded on a miss), before anything is loaded
        modelPath = io.higgs4j.trainer.hub.ModelLocator.locate(modelPath, io.higgs4j.trainer.hub.ModelLocator.Kind.MODEL);
        whisperModel = io.higgs4j.trainer.hub.ModelLocator.locate(whisperModel, io.higgs4j.trainer.hub.ModelLocator.Kind.WHISPER);
        audioTokenizerPath = io.higgs4j.trainer.hub.ModelLocator.locate(audioTokenizerPath, io.higgs4j.trainer.hub.ModelLocator.Kind.AUDIO_TOKENIZER);
        ProcessGroups.Launch launch = ProcessGroups.launch(System.getenv());
        LauncherWatch.startIfLaunched(System.getenv());
        int localRank = launch.distributed() ? launch.localRank() : 0;
        Device dev = SharedOptions.device(device, localRank);
        Backend be = backendChoice != null ? backendChoice : Backend.defaultFor(dev);
        try (ProcessGroup group = ProcessGroups.fromEnvironment(be, dev)) {
            if (group.worldSize() > 1) {
                LOG.info("rank {} of {} (backend {}) on {}", group.rank(), group.worldSize(), be, dev);
            }
            return train(dev, group);
        }
    }

    private Integer train(Device dev, ProcessGroup group) throws Exception {
        MemoryPlan.Finetune finetuned = finetuneChoice;
        boolean full = finetuned == MemoryPlan.Finetune.FULL;
        boolean bf16 = dtypeChoice != null ? dtypeChoice == DType.BFLOAT16 : dev.type() == Device.Type.CUDA && !full;
        DType baseDtype = bf16 ? DType.BFLOAT16 : DType.FLOAT32;
        Files.createDirectories(outputDir);
        if (audioTokenizerPath != null && !demo) {
            if (group.isMain()) encodeMissingCodes(dev);
            group.barrier(); // the other ranks validate only once rank 0 has written every codes file
        }

        TrainingData.Prepared prepared = TrainingData.prepare(dataRequest(), group.rank(), group.worldSize());
        HiggsAudioConfig c = prepared.config();
        Torch.manualSeed(seed);
        try (var batches = prepared.batches(); // stops its prefetch thread when the run ends
             HiggsAudioModel model = new HiggsAudioModel(c, prepared.weights() == null
                ? new Init(baseDtype, dev, c.textConfig().initializerRange()) : Init.forLoading(baseDtype, dev))) {
            boolean freshProjection = false;
            if (prepared.weights() != null) freshProjection = model.loadWeights(prepared.weights(), whisperModel);
            else if (whisperModel != null) model.whisper.loadWhisperEncoder(whisperModel);
            if (demo && group.isMain()) DemoModel.write(outputDir.resolve(DemoModel.DIR), model);
            List<String> saved = lora.modulesToSaveExpanded();
            if (freshProjection || (prepared.weights() == null && model.whisper != null)) {
                // A projection the checkpoint does not have is new: it must learn, so it is trained in full.
                if (!saved.contains("audio_encoder_proj")) saved.add("audio_encoder_proj");
                LOG.info("audio_encoder_proj is newly initialised: trained in full (added to modules_to_save)");
            }
            LoraConfig lc = lora.config(saved, prepared.baseModelName());
            MemoryPlan.Request planned = new MemoryPlan.Request(c, finetuned, lc,
                    baseDtype, batchSize, maxSeqLen, gradientCheckpointing, group.worldSize(), dev.type() == Device.Type.CUDA);
            MemoryPlan plan = MemoryPlan.estimate(planned);
            if (group.isMain()) LOG.info("{}(batches of up to --max_seq_len tokens per sample)", plan.describe(planned));
            try (Trained trained = full ? new FullFinetune(model) : Trained.lora(LoraModel.apply(model, lc, new Init(DType.FLOAT32, dev, 0.02)));
                 AdamW opt = new AdamW(List.copyOf(trained.parameters().values()),
                         new AdamW.Options(learningRate, 0.9, 0.999, 1e-8, weightDecay));
                 WhisperTowerCache towerCache = whisperTowerCache(model, prepared)) {
                LOG.info("model: {}; base in {} on {}; {}", prepared.describe(), baseDtype, dev, trained.describe());
                long total = maxSteps > 0 ? maxSteps
                        : Math.max(1, (long) Math.ceil((double) batches.batchesPerEpoch() * numEpochs / gradientAccumulationSteps));
                if (resumePoint != null && resumePoint.finished(total)) { // --num_epochs: the total is known only now
                    LOG.info(resumePoint.nothingToDo(total));
                    return 0;
                }
                LOG.info("{} batches per epoch{} of up to {} samples; {} optimizer steps", batches.batchesPerEpoch(),
                        group.worldSize() > 1 ? " on each of " + group.worldSize() + " ranks" : "", batchSize, total);
                var settings = new Trainer.Settings(gradientAccumulationSteps, total, maxGradNorm,
                        new LrSchedule(LrSchedule.Kind.parse(lrScheduler), learningRate, warmupSteps, total),
                        saveSteps, saveTotalLimit, loggingSteps, seed, outputDir,
                        new HiggsAudioLoss.Options(textLossWeight, HiggsAudioLoss.AudioReduction.valueOf(audioLossReduction.toUpperCase(Locale.ROOT))),
                        dev, 5, gradientCheckpointing);
                TrainingArgs args = new TrainingArgs(batchSize, gradientAccumulationSteps, group.worldSize(), batches.batchesPerEpoch(),
                        learningRate, lrScheduler, warmupSteps, weightDecay, maxGradNorm, textLossWeight, audioLossReduction);
                if (resumePoint != null) checkResumedArgs(args);
                Trainer trainer = new Trainer(model, trained, opt, batches, settings, Progress.forConsole(), group).recordArgs(args);
                if (prepared.evalSamples() != null) {
                    Evaluation evaluation = new Evaluation(prepared.evalSamples(), evalBatchSize > 0 ? evalBatchSize : batchSize,
                            new io.higgs4j.trainer.data.Collator(c), settings.loss(), c.audioNumCodebooks());
                    int every = evalSteps > 0 ? evalSteps : Math.max(1, saveSteps);
                    trainer.evaluation(evaluation, every, earlyStoppingPatience);
                    LOG.info("evaluation: {} held-out samples in {} batches, every {} steps and at the end{}", evaluation.samples(),
                            evaluation.batches(), every, earlyStoppingPatience > 0 ? "; early stopping after " + earlyStoppingPatience
                                    + " evaluations without improvement" : "");
                }
                Path prompts = noSamples() ? null : samplePrompts != null ? samplePrompts
                        : demo && prepared.demoDir() != null ? prepared.demoDir().resolve(io.higgs4j.trainer.data.DemoData.SAMPLE_PROMPTS) : null;
                if (prompts != null && group.isMain()) {
                    SamplePrompts sampler = SamplePrompts.load(prompts, prepared.tokenizer(), c, promptLayout(),
                            demo ? null : audioTokenizerPath, outputDir, dev);
                    int every = sampleSteps > 0 ? sampleSteps : saveSteps;
                    long[] last = {-1};
                    trainer.onStep((step, finished) -> {
                        if (step == last[0] || !(finished || (every > 0 && step % every == 0))) return;
                        sampler.generate(model, step);
                        last[0] = step;
                    });
                    LOG.info("{} sample prompts from {}: generated every {} steps and at the end into {}", sampler.prompts().size(),
                            prompts, every, outputDir.resolve("samples"));
                }
                Path resumeFrom = resumePoint == null ? null : resumePoint.checkpoint();
                CountDownLatch done = new CountDownLatch(1);
                Thread hook = new Thread(() -> {
                    trainer.requestStop();
                    try {
                        done.await(120, TimeUnit.SECONDS); // let the loop save its checkpoint
                    } catch (InterruptedException ignored) {
                        Thread.currentThread().interrupt();
                    }
                }, "higgs4j-ctrl-c");
                Runtime.getRuntime().addShutdownHook(hook);
                Trainer.Result result;
                try {
                    result = trainer.run(resumeFrom);
                } finally {
                    done.countDown();
                }
                if (towerCache != null) LOG.info("Whisper cache: {}", towerCache.stats().describe());
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // Ctrl-C: the hook is running and waits for us
                }
                if (!group.isMain()) return 0; // rank 0 saves the adapter and the plot
                if (!result.interrupted()) trained.save(outputDir);
                boolean plotted = LossPlot.write(result.history(), result.evalHistory(), outputDir.resolve("loss_curve.png"));
                summary(result, plotted);
                long peak = Memory.peakBytes(dev, result.history());
                if (peak > 0) {
                    LOG.info("peak memory: {} ({}; the plan said {} per device)", MemoryPlan.human(peak),
                            dev.type() == Device.Type.CUDA ? "device memory in use, highest at a step's end" : "resident set high-water mark",
                            MemoryPlan.human(plan.perDevice()));
                }
            }
        }
        return 0;
    }

    /**
     * The cache of the Whisper tower's output per clip, attached to the model; null when there is no tower, when
     * --whisper_cache is off, or when the tower trains (its output then changes every step), each said in the log.
     */
    private WhisperTowerCache whisperTowerCache(HiggsAudioModel model, TrainingData.Prepared prepared) {
        if (model.whisper == null) return null;
        if (whisperCache.equals("off")) {
            LOG.info("Whisper cache off (--whisper_cache off): the tower runs on every clip at every step");
            return null;
        }
        String trainable = model.whisper.trainableTowerParameter();
        if (trainable != null) {
            LOG.info("Whisper cache off: the tower trains ({} requires gradients: LoRA targets or modules_to_save reach audio_tower), "
                    + "so its output changes every step{}", trainable, trainable.contains(".self_attn.")
                    ? "; the q/k/v_proj of the attention preset match Whisper's self_attn too: to cache the tower, keep LoRA off it, "
                    + "e.g. --lora_targets self_attn.o_proj,mlp,audio" : "");
            return null;
        }
        Path dir = whisperCacheDir == null ? (demo ? prepared.demoDir() : dataPath.toAbsolutePath().getParent()).resolve("whisper_cache")
                : whisperCacheDir.toString().equals("none") ? null : whisperCacheDir;
        WhisperTowerCache cache = new WhisperTowerCache(model.whisper.audioTower, whisperCacheMb << 20, dir);
        model.whisper.cache(cache);
        LOG.info("Whisper cache on: the frozen tower's output per clip, up to {} MB in memory{}", whisperCacheMb,
                dir == null ? "" : ", then in " + cache.dir());
        return cache;
    }

    /**
     * Checkpoints in --output_dir from another run, or from later in this one, would mix with this run's: pruning keeps
     * the highest steps, so they would outlive this run's own, and a later --resume would pick them. A new run needs a
     * folder without checkpoints; the demo, alone in its own folder (it holds demo-model/), starts over there. A resumed
     * run needs a folder without checkpoints past the one it resumes from.
     */
    private void checkOutputDirHistory() throws java.io.IOException {
        CheckpointStore store = new CheckpointStore(outputDir, saveTotalLimit);
        if (resumePoint == null) {
            List<String> earlier = new java.util.ArrayList<>(store.list().stream().map(p -> p.getFileName().toString()).toList());
            if (Files.exists(outputDir.resolve(CheckpointStore.BEST))) earlier.add(CheckpointStore.BEST);
            if (earlier.isEmpty()) return;
            if (demo && Files.isDirectory(outputDir.resolve(DemoModel.DIR))) {
                if (ProcessGroups.launch(System.getenv()).rank() != 0) return; // the first rank clears it
                LOG.info("--demo starts over in {}: removing the earlier demo run's {}", outputDir, String.join(", ", earlier));
                store.clear();
                return;
            }
            throw bad("--output_dir " + outputDir + " holds checkpoints of an earlier run (" + String.join(", ", earlier)
                    + "): continue that run with --resume, or give another --output_dir");
        }
        long from = resumePoint.state().globalStep();
        List<String> later = store.list().stream().filter(p -> CheckpointStore.stepOf(p) > from)
                .map(p -> p.getFileName().toString()).toList();
        if (!later.isEmpty()) {
            throw bad("--resume " + resumePoint.checkpoint() + " is at step " + from + ", but --output_dir " + outputDir
                    + " also holds later checkpoints (" + String.join(", ", later) + "), which this run's would mix with:"
                    + " resume from the latest, move them away, or give another --output_dir");
        }
    }

    /**
     * A resumed run continues the checkpoint's only on the same batches: a different data layout is refused. Other
     * settings may change on purpose; the run then differs from the uninterrupted one, which is said.
     */
    private void checkResumedArgs(TrainingArgs now) throws java.io.IOException {
        Path checkpoint = resumePoint.checkpoint();
        var saved = TrainingArgs.read(checkpoint);
        if (saved.isEmpty()) {
            LOG.warn("--resume {}: it has no {} (an older checkpoint), so this run's options cannot be compared with its own",
                    checkpoint, TrainingArgs.FILE);
            return;
        }
        List<String> layout = now.layoutDifferences(saved.get());
        if (!layout.isEmpty()) {
            throw bad("--resume " + checkpoint + ": the batches differ from the run that wrote it: " + String.join("; ", layout)
                    + ". Its epoch and batch index count those batches: resume with the same data and options, or start a new run");
        }
        List<String> settings = now.settingDifferences(saved.get());
        if (!settings.isEmpty()) {
            LOG.warn("--resume {}: these options differ from its run, so this run will not repeat the uninterrupted one: {}",
                    checkpoint, String.join("; ", settings));
        }
    }

    private Path resumePath() throws java.io.IOException {
        if (resume == null) return null;
        if (resume.equals("latest")) {
            return new CheckpointStore(outputDir, saveTotalLimit).latest().orElseThrow(() ->
                    bad("--resume: no checkpoint-<step> directory in " + outputDir));
        }
        Path p = Path.of(resume);
        if (!Files.isDirectory(p)) throw bad("--resume " + resume + " is not a checkpoint directory");
        return p;
    }

    private void summary(Trainer.Result r, boolean plotted) {
        List<StepMetrics> h = r.history();
        if (h.isEmpty()) return;
        StepMetrics first = h.getFirst(), last = h.getLast();
        double tokens = 0, seconds = 0;
        for (StepMetrics m : h) {
            tokens += m.tokensPerSecond() * m.seconds();
            seconds += m.seconds();
        }
        LOG.info(String.format(Locale.ROOT, "%s after %d steps: loss %.4f -> %.4f (text %.4f -> %.4f, audio %.4f -> %.4f), %.0f tokens/s; %s in %s%s",
                r.interrupted() ? "stopped" : "done", r.steps(), first.loss(), last.loss(), first.textLoss(), last.textLoss(),
                first.audioLoss(), last.audioLoss(), seconds > 0 ? tokens / seconds : 0,
                finetuneChoice == MemoryPlan.Finetune.FULL ? "model" : "adapter", r.interrupted() ? r.lastCheckpoint() : outputDir, plotted ? ", curve in " + outputDir.resolve("loss_curve.png") : ""));
        if (!r.evalHistory().isEmpty()) {
            var best = r.evalHistory().stream().min(java.util.Comparator.comparingDouble(io.higgs4j.trainer.train.EvalMetrics::loss)).orElseThrow();
            LOG.info(String.format(Locale.ROOT, "%sbest eval_loss %.4f at step %d: %s", r.earlyStopped() ? "stopped early; " : "",
                    best.loss(), best.step(), outputDir.resolve(io.higgs4j.trainer.train.CheckpointStore.BEST)));
        }
    }

    /** Encodes, with the audio tokenizer, every audio of the data that has no codes file yet. */
    private void encodeMissingCodes(Device dev) throws java.io.IOException {
        List<io.higgs4j.trainer.data.CodesEncoder.Job> jobs =
                io.higgs4j.trainer.data.CodesEncoder.jobs(io.higgs4j.trainer.data.ChatMlReader.read(dataPath).samples());
        long missing = jobs.stream().filter(j -> !Files.exists(j.codes())).count();
        if (missing == 0) return;
        LOG.info("encoding {} of {} audio files with the audio tokenizer in {}", missing, jobs.size(), audioTokenizerPath);
        io.higgs4j.trainer.data.CodesEncoder.Summary summary;
        try (var tokenizer = io.higgs4j.tokenizer.AudioTokenizerLoader.load(audioTokenizerPath, dev)) {
            summary = io.higgs4j.trainer.data.CodesEncoder.encodeMissing(jobs, tokenizer, System.err,
                    System.console() != null && System.console().isTerminal());
        }
        LOG.info("audio tokenizer: {}", summary.describe());
        // a clip that failed keeps no codes file, so validation reports its samples as missing_audio_or_codes
        summary.failures().forEach(f -> LOG.warn("not encoded: {}", f));
    }

    private boolean noSamples() {
        return samplePrompts != null && samplePrompts.toString().equals("none");
    }

    /** What TrainingData reads of these options. */
    TrainingData.Request dataRequest() {
        return new TrainingData.Request(demo, modelPath, config, tokenizer, dataPath, evalDataPath, evalRatio, batchSize, maxSeqLen,
                seed, promptLayout(), encodeWhisperEmbed, outputDir);
    }

    io.higgs4j.trainer.data.PromptLayout promptLayout() { return io.higgs4j.trainer.data.PromptLayout.parse(promptLayout); }
}
