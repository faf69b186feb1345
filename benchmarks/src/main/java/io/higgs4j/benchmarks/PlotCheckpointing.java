package io.higgs4j.benchmarks;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Plots benchmarks/checkpointing-sweep.sh's lines (StepPeakMemory's output): peak memory and step time against
 * sequence length, with and without gradient checkpointing, side by side in one PNG.
 * Args: the sweep's log, the PNG to write.
 */
public final class PlotCheckpointing {
    public static void main(String[] args) throws IOException {
        Map<String, TreeMap<Integer, double[]>> byPass = new TreeMap<>();
        for (String line : Files.readAllLines(Path.of(args[0]))) {
            if (!line.startsWith("step_peak ")) continue;
            String[] w = line.split("\\s+");
            int seq = Integer.parseInt(w[5]);
            String pass = w[7].replace(":", "");
            double mib = Double.parseDouble(w[9]), ms = Double.parseDouble(w[13]);
            byPass.computeIfAbsent(pass, k -> new TreeMap<>()).put(seq, new double[] {mib, ms});
        }
        if (byPass.isEmpty()) throw new IllegalArgumentException(args[0] + " has no step_peak line");
        XYChart memory = chart("Peak memory of a LoRA step (small preset, CPU)", "MiB over the built model");
        XYChart time = chart("Step time (small preset, CPU, 2 threads)", "ms per step");
        for (var e : byPass.entrySet()) {
            String label = e.getKey().equals("ckpt") ? "gradient checkpointing" : "without";
            List<Integer> x = new ArrayList<>(e.getValue().keySet());
            memory.addSeries(label, x, e.getValue().values().stream().map(v -> v[0]).toList()).setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            time.addSeries(label, x, e.getValue().values().stream().map(v -> v[1]).toList()).setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        }
        Path out = Path.of(args[1]);
        String base = out.toString().replaceFirst("\\.png$", "");
        BitmapEncoder.saveBitmap(List.of(memory, time), 1, 2, base, BitmapEncoder.BitmapFormat.PNG);
    }

    private static XYChart chart(String title, String y) {
        XYChart c = new XYChartBuilder().width(640).height(420).title(title).xAxisTitle("tokens per sample (batch 1)").yAxisTitle(y).build();
        c.getStyler().setXAxisLogarithmic(true);
        c.getStyler().setYAxisLogarithmic(true);
        return c;
    }
}
