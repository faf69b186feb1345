package io.higgs4j.trainer;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.trainer.data.TextTokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * The demo's base model on disk (config.json, model.safetensors, tokenizer.json: the tiny preset as initialised for
 * the run, about 5 MB), so that {@code generate --model_path OUT/demo-model --adapter OUT} can use the demo's adapter.
 */
final class DemoModel {

    static final String DIR = "demo-model";

    private DemoModel() { }

    static void write(Path dir, HiggsAudioModel model) throws IOException {
        Files.createDirectories(dir);
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), model.config.toJson());
        SafetensorsWriter.write(dir.resolve("model.safetensors"), model.namedParameters(), Map.of("format", "pt"));
        try (InputStream in = TextTokenizer.class.getResourceAsStream(TextTokenizer.DEMO_RESOURCE)) {
            if (in == null) throw new IOException("the demo tokenizer " + TextTokenizer.DEMO_RESOURCE + " is missing from the trainer jar");
            Files.copy(in, dir.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
