package io.higgs4j.trainer.train;

import io.higgs4j.higgs.HiggsAudioBatch;
import io.higgs4j.higgs.HiggsAudioLoss;
import io.higgs4j.higgs.TrainingPass;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Torch;
import io.higgs4j.trainer.data.Collator;
import io.higgs4j.trainer.data.EncodedSample;
import io.higgs4j.trainer.dist.ProcessGroup;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The held-out loss: the evaluation samples in batches of batchSize (ordered by length, so little is padded), batch i
 * on rank i mod world; each rank adds up {@link HiggsAudioLoss#sums} over its batches, the sums are added over the
 * ranks, and every rank derives the same metrics, equal to one process evaluating every batch. Runs in eval mode
 * without autograd and draws no random numbers, so training goes on exactly as without it.
 */
public final class Evaluation {

    private final List<List<EncodedSample>> batches = new ArrayList<>();
    private final Collator collator;
    private final HiggsAudioLoss.Options loss;
    private final int numCodebooks;

    public Evaluation(List<EncodedSample> samples, int batchSize, Collator collator, HiggsAudioLoss.Options loss, int numCodebooks) {
        if (samples.isEmpty()) throw new IllegalArgumentException("no evaluation samples");
        if (batchSize < 1) throw new IllegalArgumentException("--eval_batch_size must be >= 1, got " + batchSize);
        List<EncodedSample> sorted = new ArrayList<>(samples);
        sorted.sort(Comparator.comparingInt(EncodedSample::mergedLength));
        for (int i = 0; i < sorted.size(); i += batchSize) batches.add(sorted.subList(i, Math.min(sorted.size(), i + batchSize)));
        this.collator = collator;
        this.loss = loss;
        this.numCodebooks = numCodebooks;
    }

    public int samples() {
        return batches.stream().mapToInt(List::size).sum();
    }

    public int batches() {
        return batches.size();
    }

    /** Evaluates the model as it is after step; the model's training flag is restored. */
    public EvalMetrics evaluate(HiggsAudioModel model, long step, ProcessGroup group) {
        double[] sums = new double[2 + 3 * numCodebooks];
        boolean wasTraining = model.isTraining();
        model.train(false);
        try (var noGrad = Torch.noGrad()) {
            for (int i = group.rank(); i < batches.size(); i += group.worldSize()) {
                try (Scope s = Scope.open()) {
                    HiggsAudioBatch b = collator.collate(batches.get(i)).toBatch(); // the model sends what it needs to device
                    // the heads on the labelled rows only, as in training (TrainingPass)
                    double[] part = TrainingPass.evaluationSums(model, b, 8).toDoubleArray();
                    for (int j = 0; j < sums.length; j++) sums[j] += part[j];
                }
            }
        } finally {
            model.train(wasTraining);
        }
        if (group.worldSize() > 1) {
            double[] mean = group.allReduceMean(sums);
            for (int j = 0; j < sums.length; j++) sums[j] = mean[j] * group.worldSize();
        }
        return metrics(step, sums);
    }

    /** The metrics of summed statistics (text sum, text count, then per codebook sums, counts, hits). */
    EvalMetrics metrics(long step, double[] sums) {
        int k = numCodebooks;
        double text = sums[1] > 0 ? sums[0] / sums[1] : 0;
        double[] losses = new double[k], accuracy = new double[k];
        long audioTargets = 0;
        for (int q = 0; q < k; q++) {
            double count = Math.round(sums[2 + k + q]);
            losses[q] = count > 0 ? sums[2 + q] / count : 0;
            accuracy[q] = count > 0 ? Math.round(sums[2 + 2 * k + q]) / count : 0;
            audioTargets += (long) count;
        }
        double audio = 0;
        for (double l : losses) audio += l;
        if (loss.audioReduction() == HiggsAudioLoss.AudioReduction.MEAN) audio /= k;
        return new EvalMetrics(step, loss.textLossWeight() * text + audio, text, audio, losses, accuracy, Math.round(sums[1]), audioTargets);
    }
}
