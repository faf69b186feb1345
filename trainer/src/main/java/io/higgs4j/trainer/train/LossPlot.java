package io.higgs4j.trainer.train;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** The loss curves of a run (total, text, audio; and the held-out loss, with evaluation) as a PNG, drawn with XChart. */
public final class LossPlot {
    private LossPlot() {}

    /**
     * Writes the plot and returns true; a runtime without AWT (a trimmed JDK) gets a warning and false instead of a
     * failed run.
     */
    public static boolean write(List<StepMetrics> history, Path png) throws IOException {
        return write(history, List.of(), png);
    }

    public static boolean write(List<StepMetrics> history, List<EvalMetrics> eval, Path png) throws IOException {
        if (history.isEmpty()) return false;
        try {
            Drawing.draw(history, eval, png); // a nested class: XChart is only linked here, where its absence is caught
            return true;
        } catch (LinkageError | UnsupportedOperationException e) { // HeadlessException is an UnsupportedOperationException
            org.slf4j.LoggerFactory.getLogger(LossPlot.class).warn("no loss curve: this Java runtime cannot draw ({})", e.toString());
            return false;
        }
    }

    /** Everything that touches XChart (and so AWT), linked on first use only. */
    private static final class Drawing {
    static void draw(List<StepMetrics> history, List<EvalMetrics> eval, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(900).height(500).title("Training loss")
                .xAxisTitle("optimizer step").yAxisTitle("loss").build();
        double[] steps = history.stream().mapToDouble(StepMetrics::step).toArray();
        add(chart, "loss", steps, history.stream().mapToDouble(StepMetrics::loss).toArray());
        add(chart, "text loss", steps, history.stream().mapToDouble(StepMetrics::textLoss).toArray());
        add(chart, "audio loss", steps, history.stream().mapToDouble(StepMetrics::audioLoss).toArray());
        if (!eval.isEmpty()) {
            chart.addSeries("eval loss", eval.stream().mapToDouble(EvalMetrics::step).toArray(),
                    eval.stream().mapToDouble(EvalMetrics::loss).toArray()).setMarker(SeriesMarkers.CIRCLE);
        }
        BitmapEncoder.saveBitmap(chart, png.toString().replaceFirst("\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
    }

    private static void add(XYChart chart, String name, double[] x, double[] y) {
        chart.addSeries(name, x, y).setMarker(SeriesMarkers.NONE);
    }
    }
}
