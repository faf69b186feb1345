package io.higgs4j.trainer.train;

/** What one optimizer step reports; one line of metrics.jsonl. */
public record StepMetrics(long step, double loss, double textLoss, double audioLoss, double[] codebookLosses, double lr,
                          double gradNorm, double tokensPerSecond, long memBytes, double seconds) {}
