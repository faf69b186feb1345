package io.higgs4j.tokenizer;

import io.higgs4j.nn.Conv1d;
import io.higgs4j.nn.Init;
import io.higgs4j.nn.Layer;
import io.higgs4j.nn.Module;
import io.higgs4j.nn.ModuleList;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;

/**
 * The semantic branch's encoder ({@code encoder_semantic}; xcodec's semantic_module.Encoder with its defaults): a
 * kernel-3 conv without bias, then two blocks of two ELU residual units and a kernel-3 conv with bias, all at stride 1
 * and the same width. [B, C, T] -> [B, C, T].
 */
public final class SemanticEncoder extends Module implements Layer {
    public final PaddedConv conv;
    public final ModuleList<EncoderBlock> convBlocks;

    public SemanticEncoder(long channels, Init init) {
        conv = child("conv", new PaddedConv(channels, channels, false, init));
        convBlocks = child("conv_blocks", new ModuleList<>());
        for (int i = 0; i < 2; i++) convBlocks.add(new EncoderBlock(channels, init));
    }

    @Override
    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor h = conv.forward(x);
            for (EncoderBlock b : convBlocks.items()) h = b.forward(h);
            return Scope.keep(h);
        }
    }

    /** ELU with alpha 1, as relu(x) + exp(min(x, 0)) - 1 (aten::elu takes Scalar arguments, which the stable ABI cannot pass). */
    static Tensor elu(Tensor x) {
        try (Scope s = Scope.open()) {
            return Scope.keep(x.relu().add(x.neg().relu().neg().exp().sub(1.0)));
        }
    }

    /** xcodec's Conv1d wrapper: a kernel-3, stride-1 conv with "same" padding, kept under the child name {@code conv}. */
    public static final class PaddedConv extends Module implements Layer {
        public final Conv1d conv;

        PaddedConv(long in, long out, boolean bias, Init init) {
            conv = child("conv", new Conv1d(in, out, 3, 1, 1, bias, init));
        }

        @Override
        public Tensor forward(Tensor x) {
            return conv.forward(x);
        }
    }

    /** x + conv2(elu(conv1(elu(x)))), conv1 kernel 3 and conv2 kernel 1, neither with bias. */
    public static final class ResidualUnit extends Module implements Layer {
        public final PaddedConv conv1;
        public final Conv1d conv2;

        ResidualUnit(long channels, Init init) {
            conv1 = child("conv1", new PaddedConv(channels, channels, false, init));
            conv2 = child("conv2", new Conv1d(channels, channels, 1, 1, 0, false, init));
        }

        @Override
        public Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                Tensor y = conv2.forward(elu(conv1.forward(elu(x))));
                return Scope.keep(x.add(y));
            }
        }
    }

    /** Two residual units (dilation 1) and a kernel-3 conv with bias. */
    public static final class EncoderBlock extends Module implements Layer {
        public final ModuleList<ResidualUnit> resUnits;
        public final PaddedConv conv;

        EncoderBlock(long channels, Init init) {
            resUnits = child("res_units", new ModuleList<>());
            for (int i = 0; i < 2; i++) resUnits.add(new ResidualUnit(channels, init));
            conv = child("conv", new PaddedConv(channels, channels, true, init));
        }

        @Override
        public Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                Tensor h = x;
                for (ResidualUnit u : resUnits.items()) h = u.forward(h);
                return Scope.keep(conv.forward(h));
            }
        }
    }
}
