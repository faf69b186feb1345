package io.higgs4j.trainer.dist;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.GradMode;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * The gradients of a model averaged over the ranks, as DDP does it: consecutive gradients of one dtype and device are
 * flattened into one buffer of up to {@link #DEFAULT_BUCKET_BYTES} (a larger gradient is a bucket of its own), each
 * buffer is all-reduced, and the means are copied back into the gradients.
 */
public final class GradientBuckets {

    public static final long DEFAULT_BUCKET_BYTES = 25L << 20;

    private GradientBuckets() {}

    /** Averages the gradients of params over the group; parameters without a gradient are skipped. */
    public static void allReduceMean(ProcessGroup group, Collection<Tensor> params, long bucketBytes) {
        if (group.worldSize() == 1) return;
        try (Scope scope = Scope.open(); GradMode g = Torch.noGrad()) {
            List<Tensor> grads = new ArrayList<>();
            for (Tensor p : params) {
                Tensor grad = p.grad();
                if (grad != null) grads.add(grad);
            }
            List<Tensor> bucket = new ArrayList<>();
            long bytes = 0;
            DType dtype = null;
            Device device = null;
            for (Tensor grad : grads) {
                long b = grad.numel() * grad.dtype().elementSize();
                boolean fits = bucket.isEmpty() || (grad.dtype() == dtype && Objects.equals(grad.device(), device) && bytes + b <= bucketBytes);
                if (!fits) {
                    reduce(group, bucket);
                    bucket.clear();
                    bytes = 0;
                }
                bucket.add(grad);
                bytes += b;
                dtype = grad.dtype();
                device = grad.device();
            }
            if (!bucket.isEmpty()) reduce(group, bucket);
        }
    }

    private static void reduce(ProcessGroup group, List<Tensor> bucket) {
        if (bucket.size() == 1 && bucket.getFirst().isContiguous()) {
            group.allReduceMean(List.of(bucket.getFirst()));
            return;
        }
        List<Tensor> flat = new ArrayList<>(bucket.size());
        for (Tensor t : bucket) flat.add(t.reshape(-1));
        Tensor buffer = Tensor.cat(flat, 0);
        group.allReduceMean(List.of(buffer));
        long off = 0;
        for (Tensor t : bucket) {
            long n = t.numel();
            t.copy_(buffer.narrow(0, off, n).view(t.shape()));
            off += n;
        }
    }
}
