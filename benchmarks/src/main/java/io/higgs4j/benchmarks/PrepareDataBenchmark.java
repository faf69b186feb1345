package io.higgs4j.benchmarks;

import io.higgs4j.audio.Audio;
import io.higgs4j.audio.WavReader;
import io.higgs4j.audio.WavWriter;
import io.higgs4j.nn.Init;
import io.higgs4j.tokenizer.AudioTokenizerConfig;
import io.higgs4j.tokenizer.HiggsAudioTokenizer;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Torch;
import io.higgs4j.trainer.data.PromptLayout;
import io.higgs4j.trainer.prepare.Clip;
import io.higgs4j.trainer.prepare.DataPreparer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Data preparation throughput: prepare-data's pipeline (read the WAV, encode with the audio tokenizer at the released
 * widths with random weights, write the codes, pair and write the samples) over CLIPS synthetic 24 kHz clips of
 * SECONDS seconds (4 speakers), float32 on the CPU. Prints hours of audio prepared per hour of wall time and what the
 * 305 hours of the seed pipeline's data set would take at that rate. Args: clips seconds.
 */
public final class PrepareDataBenchmark {

    public static void main(String[] args) throws IOException {
        int clips = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 5;
        Path dir = Files.createTempDirectory("higgs4j-prepare-bench");
        try {
            List<Clip> list = new ArrayList<>();
            for (int i = 0; i < clips; i++) {
                int n = (int) Math.round(seconds * 24000);
                float[] x = new float[n];
                double f = 110 + 37 * i;
                for (int t = 0; t < n; t++) x[t] = (float) (0.3 * Math.sin(2 * Math.PI * f * t / 24000.0) + 0.05 * Math.sin(2 * Math.PI * 7.3 * f * t / 24000.0));
                Path wav = dir.resolve("in").resolve("clip" + i + ".wav");
                Files.createDirectories(wav.getParent());
                WavWriter.write(wav, x, 24000);
                list.add(new Clip(wav, "sentence number " + i, "speaker" + (i % 4), "clip" + i));
            }
            Torch.manualSeed(0);
            try (HiggsAudioTokenizer tokenizer = new HiggsAudioTokenizer(AudioTokenizerConfig.v2(), new Init(DType.FLOAT32, Device.CPU, 0.02))) {
                DataPreparer.Codec codec = new DataPreparer.Codec() {
                    @Override public Audio read(Path audio) throws IOException { return WavReader.read(audio); }
                    @Override public long[][] encode(Audio audio) { return tokenizer.encode(audio); }
                };
                DataPreparer p = new DataPreparer(codec, new DataPreparer.Options(PromptLayout.TRAIN, 0, 0, 0, 1), null);
                long t0 = System.nanoTime();
                DataPreparer.Result r = p.prepare(list, List.of(), dir.resolve("out"));
                double wall = (System.nanoTime() - t0) / 1e9, audio = clips * seconds, rate = audio / wall;
                System.out.printf(Locale.ROOT, "prepare_data clips=%d audio_seconds=%.1f wall_seconds=%.2f hours_per_hour=%.2f hours_for_305h=%.1f samples=%d threads=%d%n",
                        clips, audio, wall, rate, 305 / rate, r.trainSamples(), Torch.numThreads());
            }
        } finally {
            try (var walk = Files.walk(dir)) {
                for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
            }
        }
    }
}
