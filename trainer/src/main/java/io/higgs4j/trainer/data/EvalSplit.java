package io.higgs4j.trainer.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

/**
 * A held-out share of a data set, seeded: by speaker when every item names one (whole speakers are held out, in a
 * shuffled order, until at least ratio of the items are; so no voice is in both parts, and the training part keeps
 * at least one speaker), else by item. The same data and seed give the same split on every rank and every run.
 */
public final class EvalSplit {

    /** The two parts, each in the data's order. */
    public record Parts<T>(List<T> train, List<T> eval, boolean bySpeaker) {}

    private EvalSplit() { }

    /** Valid samples, by their speaker. */
    public static Parts<EncodedSample> split(List<EncodedSample> samples, double ratio, long seed) {
        return split(samples, EncodedSample::speaker, ratio, seed);
    }

    public static <T> Parts<T> split(List<T> items, Function<T, String> speakerOf, double ratio, long seed) {
        if (!(ratio > 0 && ratio < 1)) throw new IllegalArgumentException("--eval_ratio must be in (0, 1), got " + ratio);
        if (items.size() < 2) throw new IllegalArgumentException("--eval_ratio needs at least 2 samples, got " + items.size());
        boolean bySpeaker = items.stream().map(speakerOf).allMatch(s -> s != null && !s.isBlank());
        Map<String, List<Integer>> groups = new LinkedHashMap<>();
        for (int i = 0; i < items.size(); i++) {
            groups.computeIfAbsent(bySpeaker ? speakerOf.apply(items.get(i)) : "#" + i, g -> new ArrayList<>()).add(i);
        }
        if (bySpeaker && groups.size() < 2) {
            throw new IllegalArgumentException("--eval_ratio splits by speaker, and every sample has the same speaker '"
                    + speakerOf.apply(items.getFirst()) + "'; give a separate --eval_data_path");
        }
        List<String> order = new ArrayList<>(groups.keySet());
        Collections.shuffle(order, new Random(seed));
        int target = (int) Math.ceil(ratio * items.size()), held = 0;
        boolean[] eval = new boolean[items.size()];
        for (int g = 0; g < order.size() - 1 && held < target; g++) {  // the last group always trains
            for (int i : groups.get(order.get(g))) {
                eval[i] = true;
                held++;
            }
        }
        List<T> train = new ArrayList<>(), out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) (eval[i] ? out : train).add(items.get(i));
        return new Parts<>(train, out, bySpeaker);
    }
}
