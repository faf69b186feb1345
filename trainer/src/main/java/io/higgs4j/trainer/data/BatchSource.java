package io.higgs4j.trainer.data;

import io.higgs4j.higgs.HiggsAudioBatch;

/** The training batches: the same for the same (seed, epoch), addressable by index so a run can resume anywhere. */
public interface BatchSource {

    int batchesPerEpoch();

    /** Batch index of epoch epoch, on the CPU; tokens counts its real (unpadded) merged positions. */
    Batch batch(int epoch, int index);

    record Batch(HiggsAudioBatch batch, long tokens) {}
}
