package io.higgs4j.optim;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Gradient clipping by global L2 norm, as torch.nn.utils.clip_grad_norm_ (norm in float32, eps 1e-6). */
public final class GradClip {
    private GradClip() {}

    /**
     * Scales every gradient by min(1, maxNorm / (norm + 1e-6)) in place and returns the norm before clipping. One dot
     * product per gradient (no temporaries), one read back to Java, one fused multiply over all gradients.
     */
    public static double clip(Collection<Tensor> params, double maxNorm) {
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            List<Tensor> grads = new ArrayList<>();
            for (Tensor p : params) {
                Tensor grad = p.grad();
                if (grad != null) grads.add(grad);
            }
            if (grads.isEmpty()) return 0;
            List<Tensor> squares = new ArrayList<>(grads.size());
            for (Tensor grad : grads) {
                Tensor flat = grad.dtype() == DType.FLOAT32 ? grad.reshape(-1) : grad.reshape(-1).to(DType.FLOAT32);
                squares.add(flat.dot(flat));
            }
            double norm = Math.sqrt(Tensor.stack(squares, 0).sum().item());
            if (maxNorm > 0 && Double.isFinite(norm) && norm > maxNorm) {
                Tensor coef = Tensor.scalar(maxNorm / (norm + 1e-6)).to(grads.getFirst().device());
                Tensor.foreachMul_(grads, coef);
            }
            return norm;
        }
    }
}
