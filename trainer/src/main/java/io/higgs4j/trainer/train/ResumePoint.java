package io.higgs4j.trainer.train;

import io.higgs4j.lora.LoraConfig;
import io.higgs4j.lora.LoraModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The checkpoint a run resumes from, read and checked before anything is loaded or written: its trainer_state.json
 * and the LoRA shape in its adapter_config.json (lora is null for a full fine-tuning checkpoint, which holds the model
 * instead). A resumed run must build the same adapter, so a LoRA option that differs is an error naming the
 * checkpoint's file, its value and the option; so is resuming one kind of checkpoint with the other --finetune.
 */
public record ResumePoint(Path checkpoint, TrainerState state, LoraConfig lora) {

    public static ResumePoint read(Path checkpoint) throws IOException {
        TrainerState state = TrainerState.read(checkpoint);
        Path config = checkpoint.resolve(LoraModel.CONFIG_FILE);
        if (Files.isRegularFile(config)) return new ResumePoint(checkpoint, state, LoraModel.readConfig(config));
        if (Files.isRegularFile(checkpoint.resolve(io.higgs4j.safetensors.SafetensorsCheckpoint.INDEX_FILE))) {
            return new ResumePoint(checkpoint, state, null);
        }
        throw new IllegalArgumentException(checkpoint + " has neither " + LoraModel.CONFIG_FILE + " (LoRA) nor "
                + io.higgs4j.safetensors.SafetensorsCheckpoint.INDEX_FILE + " (full fine-tuning): not a checkpoint");
    }

    /** Refuses a checkpoint of the other --finetune kind. */
    public void checkFinetune(boolean full) {
        if (full && lora != null) {
            throw new IllegalArgumentException("--resume " + checkpoint + " is a LoRA checkpoint (it has " + LoraModel.CONFIG_FILE
                    + "), but --finetune full was given");
        }
        if (!full && lora == null) {
            throw new IllegalArgumentException("--resume " + checkpoint + " is a full fine-tuning checkpoint (no " + LoraModel.CONFIG_FILE
                    + "): give --finetune full");
        }
    }

    /** Refuses LoRA options that differ from the checkpoint's (r, alpha, rsLoRA, targets); dropout may change. */
    public void checkOptions(int r, double alpha, boolean useRslora, List<String> targets) {
        if (lora == null) return; // full fine-tuning: no adapter shape to match
        Path file = checkpoint.resolve(LoraModel.CONFIG_FILE);
        List<String> differ = new ArrayList<>();
        if (lora.r() != r) differ.add("--lora_r " + r + " but r = " + lora.r());
        if (Double.compare(lora.alpha(), alpha) != 0) differ.add("--lora_alpha " + alpha + " but lora_alpha = " + lora.alpha());
        if (lora.useRslora() != useRslora) differ.add((useRslora ? "--use_rslora" : "no --use_rslora") + " but use_rslora = " + lora.useRslora());
        if (lora.targetRegex() != null || !lora.targetModules().equals(targets)) {
            differ.add("--lora_targets " + String.join(",", targets) + " but target_modules = "
                    + (lora.targetRegex() != null ? "'" + lora.targetRegex() + "'" : lora.targetModules()));
        }
        if (!differ.isEmpty()) {
            throw new IllegalArgumentException("--resume " + checkpoint + ": the options differ from the checkpoint's " + file + ": "
                    + String.join("; ", differ) + ". A resumed run continues the same adapter: give the checkpoint's values");
        }
    }

    /** Whether the checkpoint is already at or past totalSteps. */
    public boolean finished(long totalSteps) {
        return state.globalStep() >= totalSteps;
    }

    public String nothingToDo(long totalSteps) {
        return "nothing to do: " + checkpoint + " is at step " + state.globalStep() + " and the run has " + totalSteps
                + " steps (raise --max_steps to train further); no file was written";
    }
}
