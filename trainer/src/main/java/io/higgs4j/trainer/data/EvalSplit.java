package io.higgs4j.trainer.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A held-out share of the valid samples, seeded: by speaker when every sample names one (whole speakers are held out,
 * in a shuffled order, until at least ratio of the samples are; so no voice is in both parts, and the training part
 * keeps at least one speaker), else by sample. The same data and seed give the same split on every rank.
 */
public final class EvalSplit {

    /** The two parts, each in the data's order. */
    public record Parts(List<EncodedSample> train, List<EncodedSample> eval, boolean bySpeaker) {}

    private EvalSplit() { }

    public static Parts split(List<EncodedSample> samples, double ratio, long seed) {
        if (!(ratio > 0 && ratio < 1)) throw new IllegalArgumentException("--eval_ratio must be in (0, 1), got " + ratio);
        if (samples.size() < 2) throw new IllegalArgumentException("--eval_ratio needs at least 2 valid samples, got " + samples.size());
        boolean bySpeaker = samples.stream().allMatch(s -> s.speaker() != null && !s.speaker().isBlank());
        Map<String, List<Integer>> groups = new LinkedHashMap<>();
        for (int i = 0; i < samples.size(); i++) {
            groups.computeIfAbsent(bySpeaker ? samples.get(i).speaker() : "#" + i, g -> new ArrayList<>()).add(i);
        }
        if (bySpeaker && groups.size() < 2) {
            throw new IllegalArgumentException("--eval_ratio splits by speaker, and every sample has the same speaker '"
                    + samples.getFirst().speaker() + "'; give a separate --eval_data_path");
        }
        List<String> order = new ArrayList<>(groups.keySet());
        Collections.shuffle(order, new Random(seed));
        int target = (int) Math.ceil(ratio * samples.size()), held = 0;
        boolean[] eval = new boolean[samples.size()];
        for (int g = 0; g < order.size() - 1 && held < target; g++) {  // the last group always trains
            for (int i : groups.get(order.get(g))) {
                eval[i] = true;
                held++;
            }
        }
        List<EncodedSample> train = new ArrayList<>(), out = new ArrayList<>();
        for (int i = 0; i < samples.size(); i++) (eval[i] ? out : train).add(samples.get(i));
        return new Parts(train, out, bySpeaker);
    }
}
