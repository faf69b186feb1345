package io.higgs4j.trainer.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** trainer_state.json and eval_state.json: a wrong or negative field is an error naming the file and the key. */
class StateFilesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void trainerStateRoundTripsAndRefusesBadFields(@TempDir Path dir) throws Exception {
        TrainerState s = new TrainerState(120, 3, 7, 480, 42, 500, 123456);
        s.write(dir);
        assertEquals(s, TrainerState.read(dir));
        Path f = dir.resolve(TrainerState.FILE);
        ObjectNode valid = (ObjectNode) JSON.readTree(f.toFile());
        for (String key : List.of("global_step", "epoch", "batch_index", "micro_step", "seed", "total_steps", "tokens_seen")) {
            for (Object bad : List.of("7", 7.5, true)) {
                ObjectNode n = valid.deepCopy();
                n.set(key, JSON.valueToTree(bad));
                Files.writeString(f, n.toString());
                var e = assertThrows(IllegalArgumentException.class, () -> TrainerState.read(dir), key + " = " + bad);
                assertTrue(e.getMessage().startsWith(f + ": " + key + " must be an integer"), e.getMessage());
            }
            if (!key.equals("seed")) { // any seed is a seed; the counts cannot be negative
                ObjectNode n = valid.deepCopy();
                n.put(key, -1);
                Files.writeString(f, n.toString());
                var e = assertThrows(IllegalArgumentException.class, () -> TrainerState.read(dir), key);
                assertEquals(f + ": " + key + " must be >= 0, got -1", e.getMessage());
            }
        }
        for (String required : List.of("global_step", "epoch", "batch_index", "micro_step", "seed")) {
            ObjectNode n = valid.deepCopy();
            n.remove(required);
            Files.writeString(f, n.toString());
            assertEquals(f + ": " + required + " is missing", assertThrows(IllegalArgumentException.class, () -> TrainerState.read(dir)).getMessage());
        }
        Files.writeString(f, "[1, 2]");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainerState.read(dir)).getMessage().contains(f.toString()));
    }

    @Test
    void evalStateRoundTripsAndRefusesBadFields(@TempDir Path dir) throws Exception {
        EvalState s = new EvalState(1.25, 40, 2, 60);
        s.write(dir);
        assertEquals(s, EvalState.read(dir));
        Path f = dir.resolve(EvalState.FILE);
        ObjectNode valid = (ObjectNode) JSON.readTree(f.toFile());
        for (String key : List.of("best_step", "evaluations_since_best", "last_eval_step")) {
            ObjectNode n = valid.deepCopy();
            n.put(key, "forty");
            Files.writeString(f, n.toString());
            var e = assertThrows(IllegalArgumentException.class, () -> EvalState.read(dir));
            assertEquals(f + ": " + key + " must be an integer, got \"forty\" (a string)", e.getMessage());
            n.put(key, -5);
            Files.writeString(f, n.toString());
            e = assertThrows(IllegalArgumentException.class, () -> EvalState.read(dir));
            assertTrue(e.getMessage().startsWith(f + ": " + key + " must be >= "), e.getMessage());
        }
        ObjectNode n = valid.deepCopy();
        n.put("best_eval_loss", "low");
        Files.writeString(f, n.toString());
        assertEquals(f + ": best_eval_loss must be a finite number, got \"low\" (a string)",
                assertThrows(IllegalArgumentException.class, () -> EvalState.read(dir)).getMessage());
        // Before any evaluation there is no best loss to read.
        EvalState.NONE.write(dir);
        assertEquals(EvalState.NONE, EvalState.read(dir));
    }
}
