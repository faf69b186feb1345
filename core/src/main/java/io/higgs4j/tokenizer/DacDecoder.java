package io.higgs4j.tokenizer;

import io.higgs4j.nn.Init;
import io.higgs4j.nn.Layer;
import io.higgs4j.nn.Module;
import io.higgs4j.nn.Sequential;
import io.higgs4j.nn.Snake1d;
import io.higgs4j.nn.WNConv1d;
import io.higgs4j.nn.WNConvTranspose1d;
import io.higgs4j.torch.Tensor;

/**
 * The acoustic decoder (DAC's Decoder, {@code decoder_2} in the tokenizer): a WN conv to {@code channels}, one
 * {@link DecoderBlock} per rate (halving the channels, multiplying the length by the rate exactly), Snake and a WN conv
 * to one channel, without a final tanh. Latent [B, inputChannels, T] -> audio [B, 1, T prod(rates)].
 */
public final class DacDecoder extends Module implements Layer {
    public final Sequential model;

    public DacDecoder(long inputChannels, long channels, int[] rates, Init init) {
        model = child("model", new Sequential());
        model.add(new WNConv1d(inputChannels, channels, 7, 1, 3, 1, init));
        long out = channels;
        for (int i = 0; i < rates.length; i++) {
            long in = channels >> i;
            out = channels >> (i + 1);
            model.add(new DecoderBlock(in, out, rates[i], init));
        }
        model.add(new Snake1d(out, init));
        model.add(new WNConv1d(out, 1, 7, 1, 3, 1, init));
    }

    @Override
    public Tensor forward(Tensor x) {
        return model.forward(x);
    }

    /** Snake, a WN transposed conv (kernel 2 stride, output padding stride mod 2), residual units at dilations 1, 3, 9. */
    public static final class DecoderBlock extends Module implements Layer {
        public final Sequential block;

        public DecoderBlock(long inputDim, long outputDim, int stride, Init init) {
            block = child("block", new Sequential());
            block.add(new Snake1d(inputDim, init));
            block.add(new WNConvTranspose1d(inputDim, outputDim, 2L * stride, stride, (stride + 1) / 2, stride % 2, init));
            block.add(new DacResidualUnit(outputDim, 1, init));
            block.add(new DacResidualUnit(outputDim, 3, init));
            block.add(new DacResidualUnit(outputDim, 9, init));
        }

        @Override
        public Tensor forward(Tensor x) {
            return block.forward(x);
        }
    }
}
