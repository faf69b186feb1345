package io.higgs4j.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Draws tokens/s against sequence length from a JMH JSON result of HiggsModelBenchmark (one line per batch size):
 * {@code java -cp benchmarks.jar io.higgs4j.benchmarks.PlotTokensPerSecond results.json out.png}.
 */
public final class PlotTokensPerSecond {
    public static void main(String[] args) throws Exception {
        System.setProperty("java.awt.headless", "true");
        JsonNode results = new ObjectMapper().readTree(Path.of(args[0]).toFile());
        Map<Integer, TreeMap<Integer, Double>> byBatch = new TreeMap<>();
        for (JsonNode r : results) {
            if (!r.path("benchmark").asText().endsWith("HiggsModelBenchmark.forwardBackward")) continue;
            int seq = r.path("params").path("seqLen").asInt(), batch = r.path("params").path("batch").asInt();
            double ms = r.path("primaryMetric").path("score").asDouble();
            byBatch.computeIfAbsent(batch, k -> new TreeMap<>()).put(seq, batch * seq / (ms / 1000));
        }
        if (byBatch.isEmpty()) throw new IllegalArgumentException(args[0] + " holds no HiggsModelBenchmark result");
        XYChart chart = new XYChartBuilder().width(800).height(480).title("small config, forward + backward (float32, CPU)")
                .xAxisTitle("sequence length").yAxisTitle("tokens/s").build();
        chart.getStyler().setYAxisMin(0.0);
        byBatch.forEach((batch, points) -> {
            List<Double> x = new ArrayList<>(), y = new ArrayList<>();
            points.forEach((s, t) -> { x.add((double) s); y.add(t); });
            chart.addSeries("batch " + batch, x, y);
        });
        BitmapEncoder.saveBitmap(chart, args[1].replaceFirst("\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
        System.out.println("wrote " + args[1]);
    }
}
