package io.higgs4j.trainer.train;

import io.higgs4j.lora.LoraModel;
import io.higgs4j.torch.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** What a run trains, how it is saved into a checkpoint (or the output directory) and read back on resume. */
public interface Trained extends AutoCloseable {

    /** The parameters the optimizer updates, by full name. */
    Map<String, Tensor> parameters();

    /** Writes the trained weights into dir (a checkpoint being written, or the output directory). */
    void save(Path dir) throws IOException;

    /** Reads back what {@link #save} wrote in checkpoint. */
    void load(Path checkpoint) throws IOException;

    /** One log line: what is trained. */
    String describe();

    @Override
    void close();

    /** LoRA: the adapters and modules_to_save copies, saved as a PEFT adapter. */
    static Trained lora(LoraModel lora) {
        return new Trained() {
            @Override public Map<String, Tensor> parameters() { return lora.trainableParameters(); }
            @Override public void save(Path dir) throws IOException { lora.save(dir); }
            @Override public void load(Path checkpoint) { lora.loadWeights(checkpoint.resolve(LoraModel.ADAPTER_FILE)); }
            @Override public void close() { lora.close(); }

            @Override
            public String describe() {
                LoraModel.Stats st = lora.stats();
                return String.format(java.util.Locale.ROOT, "LoRA r=%d alpha=%s on %d modules; Total parameters: %,d; Trainable parameters: %,d"
                        + " (%.2f%%); LoRA parameters: %,d (%.2f%%)", lora.config().r(), lora.config().alpha(), st.wrappedModules(),
                        st.total(), st.trainable(), st.trainablePercent(), st.lora(), st.loraPercent());
            }
        };
    }
}
