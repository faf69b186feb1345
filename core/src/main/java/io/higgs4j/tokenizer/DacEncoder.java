package io.higgs4j.tokenizer;

import io.higgs4j.nn.Init;
import io.higgs4j.nn.Layer;
import io.higgs4j.nn.Module;
import io.higgs4j.nn.Sequential;
import io.higgs4j.nn.Snake1d;
import io.higgs4j.nn.WNConv1d;
import io.higgs4j.torch.Tensor;

/**
 * The acoustic encoder (DAC's Encoder): a WN conv from 1 to d channels, one {@link EncoderBlock} per stride (each
 * doubling the channels and dividing the length by its stride), Snake and a WN conv to the latent width.
 * Audio [B, 1, T] -> latent [B, latentDim, T / prod(strides)].
 */
public final class DacEncoder extends Module implements Layer {
    public final Sequential block;

    public DacEncoder(long dModel, int[] strides, long latentDim, Init init) {
        block = child("block", new Sequential());
        block.add(new WNConv1d(1, dModel, 7, 1, 3, 1, init));
        long d = dModel;
        for (int stride : strides) {
            d *= 2;
            block.add(new EncoderBlock(d, stride, init));
        }
        block.add(new Snake1d(d, init));
        block.add(new WNConv1d(d, latentDim, 3, 1, 1, 1, init));
    }

    @Override
    public Tensor forward(Tensor x) {
        return block.forward(x);
    }

    /** Three residual units at dilations 1, 3, 9 on dim / 2 channels, Snake, then a strided WN conv to dim channels. */
    public static final class EncoderBlock extends Module implements Layer {
        public final Sequential block;

        public EncoderBlock(long dim, int stride, Init init) {
            block = child("block", new Sequential());
            block.add(new DacResidualUnit(dim / 2, 1, init));
            block.add(new DacResidualUnit(dim / 2, 3, init));
            block.add(new DacResidualUnit(dim / 2, 9, init));
            block.add(new Snake1d(dim / 2, init));
            block.add(new WNConv1d(dim / 2, dim, 2L * stride, stride, (stride + 1) / 2, 1, init));
        }

        @Override
        public Tensor forward(Tensor x) {
            return block.forward(x);
        }
    }
}
