package io.higgs4j.trainer.train;

/**
 * Where the training loop stands: optimizer steps done, tokens trained on, and the position of the next micro-batch
 * (epoch, batch index) with the count of micro-batches taken, which seeds each micro-batch's RNG. It moves as the loop
 * takes micro-batches and finishes steps; {@link #state} is what a checkpoint saves, and a resumed run starts from it.
 *
 * <p>An epoch is left only when its next batch is taken, so after an epoch's last batch the index is one past it
 * (batchesPerEpoch), as checkpoints have always recorded it.
 */
final class Cursor {

    /** A micro-batch taken: its batch (epoch, index), and micro, how many were taken before it. */
    record Micro(int epoch, int index, long micro) {}

    private long step, tokensSeen;
    private int epoch, index;
    private long micro;

    Cursor(TrainerState from) {
        step = from.globalStep();
        tokensSeen = from.tokensSeen();
        epoch = from.epoch();
        index = from.batchIndex();
        micro = from.microStep();
    }

    /** Takes the next micro-batch of an epoch of batchesPerEpoch batches, moving to the next epoch when this one is done. */
    Micro take(int batchesPerEpoch) {
        if (index >= batchesPerEpoch) {
            epoch++;
            index = 0;
        }
        return new Micro(epoch, index++, micro++);
    }

    /** One optimizer step done, over this many tokens. */
    void stepDone(long tokens) {
        step++;
        tokensSeen += tokens;
    }

    /** Optimizer steps done. */
    long step() {
        return step;
    }

    TrainerState state(long seed, long totalSteps) {
        return new TrainerState(step, epoch, index, micro, seed, totalSteps, tokensSeen);
    }
}
