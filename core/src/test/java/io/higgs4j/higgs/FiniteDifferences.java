package io.higgs4j.higgs;

import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.util.Random;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/** Gradient checks of module parameters against central finite differences (float64). */
final class FiniteDifferences {
    private FiniteDifferences() {}

    /** Compares count random elements of t's gradient with central differences of loss (step 1e-6). */
    static void check(String name, Tensor t, Supplier<Double> loss, Random r, int count) {
        assertNotNull(t.grad(), name + " has no gradient");
        double[] grad = t.grad().toDoubleArray();
        long n = t.numel();
        double h = 1e-6;
        for (int c = 0; c < count; c++) {
            int i = r.nextInt((int) n);
            double numeric;
            try (var g = Torch.noGrad(); Scope s = Scope.open()) {
                Tensor flat = t.view(-1);
                double v = flat.select(0, i).item();
                flat.narrow(0, i, 1).fill_(v + h);
                double up = loss.get();
                flat.narrow(0, i, 1).fill_(v - h);
                double down = loss.get();
                flat.narrow(0, i, 1).fill_(v);
                numeric = (up - down) / (2 * h);
            }
            assertEquals(numeric, grad[i], 1e-6 + 1e-5 * Math.abs(numeric), name + "[" + i + "]");
        }
    }
}
