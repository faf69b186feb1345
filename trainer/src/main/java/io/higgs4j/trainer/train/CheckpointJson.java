package io.higgs4j.trainer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.higgs4j.json.JsonFields;

import java.io.IOException;
import java.nio.file.Path;

/** The JSON files a checkpoint keeps beside its weights (trainer, evaluation and argument state), read strictly. */
final class CheckpointJson {

    private CheckpointJson() {}

    /** The fields of f, a JSON object; a broken file or a bad field is an IllegalArgumentException naming f. */
    static JsonFields read(Path f) throws IOException {
        JsonNode json;
        try {
            json = new ObjectMapper().readTree(f.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(f + " is not valid JSON: " + JsonFields.syntaxError(e));
        }
        return JsonFields.of(json, m -> new IllegalArgumentException(f + ": " + m));
    }
}
