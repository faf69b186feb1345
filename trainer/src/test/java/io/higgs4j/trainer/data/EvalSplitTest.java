package io.higgs4j.trainer.data;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class EvalSplitTest {

    static List<EncodedSample> samples(int n, int speakers) {
        List<EncodedSample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new EncodedSample("s" + i, speakers == 0 ? null : "spk" + (i % speakers), new long[] {1}, new long[] {-100},
                    List.of(), List.of(), 1));
        }
        return out;
    }

    static Set<String> speakers(List<EncodedSample> s) {
        Set<String> out = new HashSet<>();
        for (EncodedSample e : s) out.add(e.speaker());
        return out;
    }

    @Test
    void wholeSpeakersAreHeldOutUntilTheRatioIsReached() {
        List<EncodedSample> all = samples(40, 8); // 5 samples per speaker
        EvalSplit.Parts<EncodedSample> p = EvalSplit.split(all, 0.2, 1);
        assertTrue(p.bySpeaker());
        assertEquals(10, p.eval().size(), "0.2 of 40 = 8 samples: whole speakers of 5 until 8 are held out, so two (10)");
        Set<String> both = speakers(p.train());
        both.retainAll(speakers(p.eval()));
        assertTrue(both.isEmpty(), "no voice in both parts: " + both);
        assertEquals(40, p.train().size() + p.eval().size());
        assertEquals(p, EvalSplit.split(all, 0.2, 1), "seeded");
        assertNotEquals(speakers(p.eval()), speakers(EvalSplit.split(all, 0.2, 2).eval()), "another seed, other speakers");
        // A ratio that would take everything still leaves a speaker to train on.
        EvalSplit.Parts<EncodedSample> most = EvalSplit.split(all, 0.99, 1);
        assertEquals(1, speakers(most.train()).size());
    }

    @Test
    void withoutSpeakersItSplitsSamples() {
        EvalSplit.Parts<EncodedSample> p = EvalSplit.split(samples(10, 0), 0.3, 4);
        assertFalse(p.bySpeaker());
        assertEquals(3, p.eval().size());
        assertEquals(7, p.train().size());
    }

    @Test
    void badRatiosAndSingleSpeakersAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> EvalSplit.split(samples(10, 2), 0, 1));
        assertThrows(IllegalArgumentException.class, () -> EvalSplit.split(samples(10, 2), 1, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EvalSplit.split(samples(10, 1), 0.2, 1));
        assertTrue(e.getMessage().contains("--eval_data_path"), e.getMessage());
    }
}
