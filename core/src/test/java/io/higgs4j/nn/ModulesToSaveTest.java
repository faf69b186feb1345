package io.higgs4j.nn;

import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * LoRA's modules_to_save puts a trainable copy in place of each parameter of the saved module, and swaps copy and
 * original when the adapter is disabled: both must land in the box the module's forward reads, or training would
 * update a tensor that forward never uses.
 */
class ModulesToSaveTest {

    /** body (a LoRA target) then head (saved in full): x -> head(body(x)). */
    static final class Net extends Module {
        final Linear body, head;

        Net(Init init) {
            body = child("body", new Linear(2, 2, false, init));
            head = child("head", new Linear(2, 1, false, init));
        }

        float[] forward(Tensor x) {
            try (Scope s = Scope.open(); var g = Torch.noGrad()) {
                return head.forward(body.forward(x)).toFloatArray();
            }
        }
    }

    static LoraConfig config() {
        return new LoraConfig(1, 1, 0, false, List.of("body"), null, null, List.of(), List.of("head"), null);
    }

    @Test
    void forwardReadsTheTrainableCopyAndTheOriginalWhenDisabled() {
        try (Net net = new Net(Init.cpu(DType.FLOAT32)); Scope s = Scope.open()) {
            net.setParameter("body.weight", Tensor.of(new float[] {1, 0, 0, 1}, 2, 2));
            net.setParameter("head.weight", Tensor.of(new float[] {1, 1}, 1, 2));
            Tensor x = Tensor.of(new float[] {1, 1}, 1, 2);
            Parameter box = net.getParameter("head.weight");
            try (LoraModel lora = LoraModel.apply(net, config(), Init.cpu(DType.FLOAT32))) {
                Tensor copy = lora.trainableParameters().get("head.weight");
                assertNotNull(copy);
                assertSame(box, net.getParameter("head.weight"), "the copy goes into the module's existing box");
                assertSame(copy, net.head.weight());
                try (var g = Torch.noGrad()) {
                    copy.copy_(Tensor.of(new float[] {2, 3}, 1, 2));
                }
                // body is the identity (LoRA's B starts at zero): head reads the copy [2, 3] -> 2 + 3
                assertArrayEquals(new float[] {5}, net.forward(x));
                lora.setEnabled(false);
                assertArrayEquals(new float[] {2}, net.forward(x), "disabled: the frozen original [1, 1]");
                lora.setEnabled(true);
                assertArrayEquals(new float[] {5}, net.forward(x));

                // Training: the gradient reaches the copy (d(w . x)/dw = x = [1, 1]) and an update changes forward.
                try (Scope step = Scope.open()) {
                    net.train(true);
                    net.head.forward(net.body.forward(x)).sum().backward();
                    Tensor grad = copy.grad();
                    assertNotNull(grad, "the copy forward reads is the one that gets a gradient");
                    assertArrayEquals(new float[] {1, 1}, grad.toFloatArray());
                    try (var g = Torch.noGrad()) {
                        copy.copy_(copy.sub(grad.mul(0.5)));
                    }
                }
                assertArrayEquals(new float[] {4}, net.forward(x), "[1.5, 2.5] after one step of 0.5");
                lora.setEnabled(false);
                assertArrayEquals(new float[] {2}, net.forward(x), "the original was neither trained nor touched");
                lora.setEnabled(true);

                lora.unload(false);
                assertSame(box, net.getParameter("head.weight"));
                assertArrayEquals(new float[] {2}, net.forward(x), "unloading puts the original back");
                assertTrue(copy.isClosed(), "unloading frees the copy");
            }
        }
    }
}
