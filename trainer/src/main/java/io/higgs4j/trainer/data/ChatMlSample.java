package io.higgs4j.trainer.data;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One parsed ChatML sample (docs/MODEL.md section 7): messages, the optional {@code start_index} (message index, system
 * counted, from which assistant turns are supervised; null = all assistant turns), speaker and misc.
 *
 * @param id        where the sample comes from, for messages: {@code data.jsonl line 12} or {@code data.json [3]}
 * @param baseDir   the data file's directory, against which relative audio paths resolve
 */
public record ChatMlSample(String id, Path baseDir, List<Message> messages, Integer startIndex, String speaker, JsonNode misc) {

    public ChatMlSample {
        messages = List.copyOf(messages);
    }

    public enum Role {
        SYSTEM, USER, ASSISTANT;

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Audio in this role's turns is input (reference) audio; in assistant turns it is output (target) audio. */
        public boolean audioIsOutput() {
            return this == ASSISTANT;
        }
    }

    public record Message(Role role, List<Content> content) {
        public Message {
            content = List.copyOf(content);
        }
    }

    /** A content item of a message. */
    public sealed interface Content permits Text, Audio { }

    public record Text(String text) implements Content { }

    /**
     * An audio item. {@code audioUrl} is the audio file (may be null when {@code audioCodes} is given);
     * {@code audioCodes} is our extension: an .npy file of its codes (K x T). offset and duration (seconds) select
     * frames [round(offset*25), round((offset+duration)*25)) of the codes; null when absent.
     */
    public record Audio(String audioUrl, String audioCodes, boolean hasRawAudio, Double offset, Double duration) implements Content { }

    /** The audio items in order of appearance, each with the role of its message. */
    public List<AudioItem> audioItems() {
        List<AudioItem> out = new ArrayList<>();
        for (int m = 0; m < messages.size(); m++) {
            Message msg = messages.get(m);
            for (Content c : msg.content()) if (c instanceof Audio a) out.add(new AudioItem(m, msg.role(), a));
        }
        return out;
    }

    /** An audio item with its message index and role. */
    public record AudioItem(int message, Role role, Audio audio) {
        public boolean isOutput() {
            return role.audioIsOutput();
        }
    }
}
