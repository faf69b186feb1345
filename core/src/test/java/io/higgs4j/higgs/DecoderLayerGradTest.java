package io.higgs4j.higgs;

import io.higgs4j.nn.Init;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/** Gradients through one dual-FFN decoder layer (attention, RoPE, both norms and MLPs) against finite differences. */
class DecoderLayerGradTest {

    @Test
    void dualFfnLayerGradientsMatchFiniteDifferences() {
        Torch.manualSeed(5);
        HiggsAudioConfig config = HiggsAudioConfig.preset("tiny");
        try (HiggsAudioDecoderLayer layer = new HiggsAudioDecoderLayer(config, 0, new Init(DType.FLOAT64, Device.CPU, 0.2));
             Scope s = Scope.open()) {
            int l = 6;
            long hidden = config.textConfig().hiddenSize();
            boolean[] audio = {false, true, true, false, true, false};
            Tensor audioMask = Tensor.of(audio, 1, l);
            Tensor attention = Tensor.ones(new long[] {1, l}, DType.INT64, Device.CPU);
            Tensor mask = HiggsAudioModel.additiveMask(attention, audioMask, false, DType.FLOAT64);
            List<Tensor> cs = new LlamaRotaryEmbedding(config.textConfig()).cosSin(Tensor.of(new long[] {0, 1, 2, 3, 4, 5}, 1, l), DType.FLOAT64);
            HiggsAudioDecoderLayer.Context ctx = new HiggsAudioDecoderLayer.Context(cs.get(0), cs.get(1), mask, null, audioMask,
                    Tensor.of(new long[] {1, 2, 4}), Tensor.of(new long[] {0, 3, 5}));
            Tensor h = Tensor.randn(new long[] {1, l, hidden}, DType.FLOAT64, Device.CPU).requiresGrad(true);
            Tensor w = Tensor.randn(new long[] {1, l, hidden}, DType.FLOAT64, Device.CPU);
            layer.requiresGrad(true);
            Supplier<Double> loss = () -> Scope.run(() -> layer.forward(h, ctx).mul(w).sum()).item();
            layer.forward(h, ctx).mul(w).sum().backward();

            Random r = new Random(1);
            FiniteDifferences.check("input", h, loss, r, 40);
            Map<String, Tensor> params = layer.namedParameters();
            for (String name : List.of("self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                    "self_attn.o_proj.weight", "mlp.gate_proj.weight", "mlp.down_proj.weight", "audio_mlp.up_proj.weight",
                    "audio_mlp.down_proj.weight", "input_layernorm.weight", "audio_input_layernorm.weight",
                    "post_attention_layernorm.weight", "audio_post_attention_layernorm.weight")) {
                FiniteDifferences.check(name, params.get(name), loss, r, 12);
            }
        }
    }

}
