package io.higgs4j.trainer.train;

/**
 * One evaluation on held-out data after optimizer step {@code step}: the loss as training defines it (text
 * cross-entropy times the text weight plus the codebooks' losses combined as in training), each stream's mean over
 * all of the held-out set's targets, per-codebook top-1 accuracy of the audio targets, and how many targets there were.
 */
public record EvalMetrics(long step, double loss, double textLoss, double audioLoss, double[] codebookLosses,
                          double[] codebookAccuracy, long textTargets, long audioTargets) {
}
