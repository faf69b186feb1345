package io.higgs4j.trainer.train;

import io.higgs4j.torch.Aten;
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

    /** Scales every gradient by min(1, maxNorm / (norm + 1e-6)) in place and returns the norm before clipping. */
    public static double clip(Collection<Tensor> params, double maxNorm) {
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            List<Tensor> grads = new ArrayList<>();
            for (Tensor p : params) {
                Tensor grad = p.grad();
                if (grad != null) grads.add(grad);
            }
            if (grads.isEmpty()) return 0;
            Tensor sumSquares = null;
            for (Tensor grad : grads) {
                Tensor sq = grad.to(grad.device(), DType.FLOAT32).pow(2).sum();
                sumSquares = sumSquares == null ? sq : sumSquares.add(sq);
            }
            double norm = Math.sqrt(sumSquares.item());
            if (maxNorm > 0 && Double.isFinite(norm) && norm > maxNorm) {
                double coef = maxNorm / (norm + 1e-6);
                for (Tensor grad : grads) Aten.callTensor("aten::mul_", "Tensor", grad, Tensor.scalar(coef).to(grad.device(), grad.dtype())).close();
            }
            return norm;
        }
    }
}
