package io.higgs4j.optim;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.util.ArrayList;
import java.util.List;

/**
 * AdamW (decoupled weight decay, Loshchilov and Hutter) through libtorch's fused kernel {@code _fused_adamw_}, with
 * the defaults of torch.optim.AdamW. The optimizer owns its state tensors; close it to free them.
 */
public final class AdamW implements AutoCloseable {

    public record Options(double lr, double beta1, double beta2, double eps, double weightDecay) {
        public Options {
            if (!(lr >= 0)) throw new IllegalArgumentException("AdamW: learning rate must be >= 0, got " + lr);
            if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("AdamW: beta1 must be in [0, 1), got " + beta1);
            if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("AdamW: beta2 must be in [0, 1), got " + beta2);
            if (!(eps >= 0)) throw new IllegalArgumentException("AdamW: eps must be >= 0, got " + eps);
            if (!(weightDecay >= 0)) throw new IllegalArgumentException("AdamW: weight decay must be >= 0, got " + weightDecay);
        }

        /** torch.optim.AdamW's defaults at the given learning rate. */
        public static Options defaults(double lr) {
            return new Options(lr, 0.9, 0.999, 1e-8, 0.01);
        }

        public Options withLr(double newLr) {
            return new Options(newLr, beta1, beta2, eps, weightDecay);
        }
    }

    private final List<Tensor> params;
    private final List<Tensor> expAvg = new ArrayList<>();
    private final List<Tensor> expAvgSq = new ArrayList<>();
    private final List<Tensor> steps = new ArrayList<>();
    private Options options;
    private long step;
    /** Steps taken by each parameter (a parameter without a gradient does not step), mirrored in its step tensor. */
    private long[] paramSteps;

    public AdamW(List<Tensor> params, Options options) {
        for (Tensor p : params) {
            if (!p.requiresGrad()) throw new IllegalArgumentException("AdamW: a parameter does not require grad: " + p);
            if (!p.isLeaf()) {
                throw new IllegalArgumentException("AdamW: a parameter is computed from other tensors, not a leaf, so backward "
                        + "never fills its gradient: " + p + " (optimise the leaf it comes from)");
            }
        }
        this.params = List.copyOf(params);
        this.options = options;
        this.paramSteps = new long[params.size()];
        try (var g = Torch.noGrad()) {
            for (Tensor p : params) {
                expAvg.add(Scope.disown(Tensor.zerosLike(p)));
                expAvgSq.add(Scope.disown(Tensor.zerosLike(p)));
                steps.add(Scope.disown(Tensor.zeros(new long[0], DType.FLOAT32, p.device())));
            }
        }
    }

    public Options options() {
        return options;
    }

    /** Changes the learning rate (schedules call this before each step). */
    public void setLr(double lr) {
        options = options.withLr(lr);
    }

    /** Number of steps taken. */
    public long stepCount() {
        return step;
    }

    /** One update of every parameter that has a gradient; parameters without one are left alone, as in PyTorch. */
    public void step() {
        step++;
        try (var g = Torch.noGrad(); Scope s = Scope.open()) {
            List<Tensor> ps = new ArrayList<>(), gs = new ArrayList<>(), m = new ArrayList<>(), v = new ArrayList<>(),
                    st = new ArrayList<>();
            for (int i = 0; i < params.size(); i++) {
                Tensor grad = params.get(i).grad();
                if (grad == null) continue;
                ps.add(params.get(i));
                gs.add(grad);
                m.add(expAvg.get(i));
                v.add(expAvgSq.get(i));
                // The fused kernel reads the step count; PyTorch increments it before the call, and so do we.
                st.add(steps.get(i).fill_(++paramSteps[i]));
            }
            if (ps.isEmpty()) return;
            Tensor.fusedAdamW_(ps, gs, m, v, st, options.lr(), options.beta1(), options.beta2(), options.weightDecay(),
                    options.eps());
        }
    }

    /**
     * The optimizer's state by parameter index ("exp_avg.3", "exp_avg_sq.3", "step.3") for checkpoints; shared views of
     * the live tensors, which the caller writes out and does not close.
     */
    public java.util.Map<String, Tensor> stateDict() {
        java.util.Map<String, Tensor> out = new java.util.LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            out.put("exp_avg." + i, expAvg.get(i));
            out.put("exp_avg_sq." + i, expAvgSq.get(i));
            out.put("step." + i, steps.get(i));
        }
        return out;
    }

    /** Restores what {@link #stateDict} saved (values copied in); stepCount is the number of steps taken. */
    public void loadStateDict(java.util.function.Function<String, Tensor> saved, long stepCount) {
        try (var g = Torch.noGrad(); Scope s = Scope.open()) {
            for (var e : stateDict().entrySet()) {
                Tensor value = saved.apply(e.getKey());
                if (value == null) throw new IllegalArgumentException("optimizer state has no " + e.getKey());
                if (!java.util.Arrays.equals(value.shape(), e.getValue().shape())) {
                    throw new IllegalArgumentException("optimizer state " + e.getKey() + " has shape "
                            + java.util.Arrays.toString(value.shape()) + ", expected " + java.util.Arrays.toString(e.getValue().shape()));
                }
                e.getValue().copy_(value);
            }
        }
        step = stepCount;
        for (int i = 0; i < params.size(); i++) paramSteps[i] = (long) steps.get(i).item();
    }

    /** Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
    public void zeroGrad() {
        for (Tensor p : params) p.resetGrad();
    }

    @Override
    public void close() {
        for (List<Tensor> l : List.of(expAvg, expAvgSq, steps)) l.forEach(Tensor::close);
    }
}
