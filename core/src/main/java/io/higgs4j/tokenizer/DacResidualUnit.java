package io.higgs4j.tokenizer;

import io.higgs4j.nn.Init;
import io.higgs4j.nn.Layer;
import io.higgs4j.nn.Module;
import io.higgs4j.nn.Sequential;
import io.higgs4j.nn.Snake1d;
import io.higgs4j.nn.WNConv1d;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/** DAC's ResidualUnit: x + block(x), block = Snake, dilated WN conv (kernel 7), Snake, WN conv (kernel 1). */
public final class DacResidualUnit extends Module implements Layer {
    public final Sequential block;

    public DacResidualUnit(long dim, long dilation, Init init) {
        block = child("block", new Sequential());
        block.add(new Snake1d(dim, init));
        block.add(new WNConv1d(dim, dim, 7, 1, 3 * dilation, dilation, init));
        block.add(new Snake1d(dim, init));
        block.add(new WNConv1d(dim, dim, 1, 1, 0, 1, init));
    }

    @Override
    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor y = block.forward(x);
            long pad = (x.size(2) - y.size(2)) / 2;
            Tensor skip = pad > 0 ? x.narrow(2, pad, y.size(2)) : x;
            return Scope.keep(skip.add(y));
        }
    }
}
