package io.higgs4j.trainer.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class CursorTest {

    @Test
    void takesBatchesInOrderAndLeavesAnEpochOnlyForItsNextBatch() {
        Cursor c = new Cursor(new TrainerState(0, 0, 0, 0, 7, 10, 0));
        assertEquals(new Cursor.Micro(0, 0, 0), c.take(3));
        assertEquals(new Cursor.Micro(0, 1, 1), c.take(3));
        assertEquals(new Cursor.Micro(0, 2, 2), c.take(3));
        c.stepDone(100);
        // the epoch's last batch is taken: the saved position is one past it, still in epoch 0
        assertEquals(new TrainerState(1, 0, 3, 3, 7, 10, 100), c.state(7, 10));
        assertEquals(new Cursor.Micro(1, 0, 3), c.take(3));
        c.stepDone(50);
        assertEquals(new TrainerState(2, 1, 1, 4, 7, 10, 150), c.state(7, 10));
    }

    @Test
    void resumesWhereTheStateSaysAndAStepWithoutTokensStillCounts() {
        Cursor c = new Cursor(new TrainerState(5, 2, 4, 17, 1, 9, 1234));
        assertEquals(5, c.step());
        assertEquals(new Cursor.Micro(3, 0, 17), c.take(4), "batch 4 of a 4-batch epoch is the next epoch's first");
        c.stepDone(0);
        assertEquals(new TrainerState(6, 3, 1, 18, 1, 9, 1234), c.state(1, 9));
    }
}
