package io.higgs4j.trainer.data;

import io.higgs4j.trainer.data.ChatMlSample.Audio;
import io.higgs4j.trainer.data.ChatMlSample.Role;
import io.higgs4j.trainer.data.ChatMlSample.Text;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ChatMlReaderTest {

    static final String GENERAL = """
            {"messages": [{"role": "system", "content": "be brief"},
                          {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "audio", "audio_url": "clips/q.wav"}]},
                          {"role": "assistant", "content": {"type": "audio", "audio_url": "clips/a.flac", "offset": 1.5, "duration": 2}}],
             "start_index": 2, "speaker": "bob", "misc": {"lang": "en"}}""";

    static final String CLONING = """
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "ref words"}, {"type": "audio", "audio_codes": "codes/ref.npy"}]},
                          {"role": "assistant", "content": [{"type": "text", "text": "target words"}, {"type": "audio", "audio_url": "/abs/t.wav"}]}],
             "misc": {"speaker": "carol"}}""";

    @Test
    void generalChatMlInAJsonArray(@TempDir Path dir) throws Exception {
        Path f = Fixtures.write(dir.resolve("data.json"), "[" + GENERAL + ",\n" + CLONING + "]");
        ChatMlReader.Result r = ChatMlReader.read(f);
        assertEquals(List.of(), r.failures());
        assertEquals(2, r.samples().size());
        ChatMlSample s = r.samples().getFirst();
        assertEquals("data.json [0]", s.id());
        assertEquals(dir.toAbsolutePath(), s.baseDir());
        assertEquals(List.of(Role.SYSTEM, Role.USER, Role.ASSISTANT), s.messages().stream().map(ChatMlSample.Message::role).toList());
        assertEquals(List.of(new Text("be brief")), s.messages().get(0).content());
        assertEquals(new Audio("clips/q.wav", null, false, null, null), s.messages().get(1).content().get(1));
        assertEquals(new Audio("clips/a.flac", null, false, 1.5, 2.0), s.messages().get(2).content().getFirst());
        assertEquals(2, s.startIndex());
        assertEquals("bob", s.speaker());
        assertEquals("en", s.misc().path("lang").asText());
        assertEquals(List.of(false, true), s.audioItems().stream().map(ChatMlSample.AudioItem::isOutput).toList());
    }

    @Test
    void theOfficialLayoutMakesTheReferenceAnEarlierAssistantTurnThatIsNotTrained(@TempDir Path dir) throws Exception {
        Path f = Fixtures.write(dir.resolve("d.jsonl"), CLONING.replace("\n", " ") + "\n");
        ChatMlSample s = ChatMlReader.read(f, PromptLayout.OFFICIAL).samples().getFirst();
        assertEquals(List.of(Role.USER, Role.ASSISTANT, Role.USER, Role.ASSISTANT), s.messages().stream().map(ChatMlSample.Message::role).toList());
        assertEquals(List.of(new Text("ref words")), s.messages().get(0).content());
        assertEquals(List.of(new Audio(null, "codes/ref.npy", false, null, null)), s.messages().get(1).content());
        assertEquals(List.of(new Text("target words")), s.messages().get(2).content());
        assertEquals(List.of(new Audio("/abs/t.wav", null, false, null, null)), s.messages().get(3).content());
        assertEquals(3, s.startIndex(), "supervision starts at the target turn");
        assertEquals(List.of(true, true), s.audioItems().stream().map(ChatMlSample.AudioItem::isOutput).toList());

        // Its own system message is kept in front; a start_index past the assistant turn keeps everything unsupervised.
        String withSystem = CLONING.replace("{\"messages\": [", "{\"start_index\": 2, \"messages\": [{\"role\": \"system\", \"content\": \"sys\"}, ")
                .replace("\n", " ");
        s = ChatMlReader.read(Fixtures.write(dir.resolve("e.jsonl"), withSystem), PromptLayout.OFFICIAL).samples().getFirst();
        assertEquals(5, s.messages().size());
        assertEquals(List.of(new Text("sys")), s.messages().getFirst().content());
        assertEquals(4, s.startIndex());
        withSystem = withSystem.replace("\"start_index\": 2", "\"start_index\": 3");
        s = ChatMlReader.read(Fixtures.write(dir.resolve("f.jsonl"), withSystem), PromptLayout.OFFICIAL).samples().getFirst();
        assertEquals(5, s.startIndex(), "nothing supervised, as in the original sample");
    }

    @Test
    void theReferenceTargetShapeBecomesSystemUserAssistant(@TempDir Path dir) throws Exception {
        Path f = Fixtures.write(dir.resolve("d.jsonl"), "\uFEFF" + CLONING.replace("\n", " ") + "\r\n");
        ChatMlSample s = ChatMlReader.read(f).samples().getFirst();
        assertEquals("d.jsonl line 1", s.id());
        assertEquals(3, s.messages().size());
        assertEquals(Role.SYSTEM, s.messages().get(0).role());
        assertEquals(List.of(new Text(ChatMlReader.VOICE_CLONING_SYSTEM_PROMPT)), s.messages().get(0).content());
        assertEquals(Role.USER, s.messages().get(1).role());
        assertEquals(List.of(new Text("ref words"), new Audio(null, "codes/ref.npy", false, null, null),
                new Text("Please generate speech for given text in reference audio's voice: target words")), s.messages().get(1).content());
        assertEquals(Role.ASSISTANT, s.messages().get(2).role());
        assertEquals(List.of(new Audio("/abs/t.wav", null, false, null, null)), s.messages().get(2).content());
        assertEquals("carol", s.speaker(), "speaker from misc");
        assertNull(s.startIndex());

        // With its own system message it is kept; a start_index moves with its message.
        String withSystem = CLONING.replace("{\"messages\": [", "{\"start_index\": 0, \"messages\": [{\"role\": \"system\", \"content\": \"sys\"}, ")
                .replace("\n", " ");
        s = ChatMlReader.read(Fixtures.write(dir.resolve("e.jsonl"), withSystem)).samples().getFirst();
        assertEquals(List.of(new Text("sys")), s.messages().getFirst().content());
        assertEquals(3, s.messages().size());
        assertEquals(0, s.startIndex());
        s = ChatMlReader.read(Fixtures.write(dir.resolve("f.jsonl"), CLONING.replace("\"misc\"", "\"start_index\": 1, \"misc\"")
                .replace("\n", " "))).samples().getFirst();
        assertEquals(2, s.startIndex(), "the assistant message moved from index 1 to 2");

        // A user turn that already holds more than the reference pair is general ChatML, read as it is.
        String three = CLONING.replace("{\"type\": \"audio\", \"audio_codes\": \"codes/ref.npy\"}",
                "{\"type\": \"audio\", \"audio_codes\": \"codes/ref.npy\"}, {\"type\": \"text\", \"text\": \"say it\"}").replace("\n", " ");
        s = ChatMlReader.read(Fixtures.write(dir.resolve("g.jsonl"), three)).samples().getFirst();
        assertEquals(2, s.messages().size());
        assertEquals(2, s.messages().get(1).content().size());
    }

    @Test
    void jsonlLinesFailOneByOneAndBlankLinesAreSkipped(@TempDir Path dir) throws Exception {
        String text = GENERAL.replace("\n", " ") + "\n\n"
                + "{\"messages\": [ this is not json\n"
                + "{\"no_messages\": 1}\n"
                + "[1, 2]\n"
                + "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}\n"
                + "{\"messages\": [{\"role\": \"user\"}]}\n"
                + "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image\"}]}]}\n"
                + "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"audio\"}]}]}\n"
                + "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"start_index\": \"two\"}\n"
                + "{\"messages\": []}\n"
                + "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": 5}]}]}\n"
                + CLONING.replace("\n", " ") + "\n";
        ChatMlReader.Result r = ChatMlReader.read(Fixtures.write(dir.resolve("mixed.jsonl"), text));
        assertEquals(12, r.total());
        assertEquals(List.of("mixed.jsonl line 1", "mixed.jsonl line 13"), r.samples().stream().map(ChatMlSample::id).toList());
        List<String> messages = r.failures().stream().map(f -> f.id() + ": " + f.reason().key() + ": " + f.message()).toList();
        assertEquals(10, messages.size(), String.join("\n", messages));
        assertTrue(messages.get(0).startsWith("mixed.jsonl line 3: unparseable: not valid JSON"), messages.get(0));
        assertEquals("mixed.jsonl line 4: bad_structure: no \"messages\" field", messages.get(1));
        assertEquals("mixed.jsonl line 5: bad_structure: a sample must be a JSON object, got a list", messages.get(2));
        assertEquals("mixed.jsonl line 6: bad_structure: message 0 has role 'robot'; expected system, user or assistant", messages.get(3));
        assertEquals("mixed.jsonl line 7: bad_structure: message 0 (user) has no \"content\"", messages.get(4));
        assertEquals("mixed.jsonl line 8: bad_structure: message 0 content 0 has type 'image'; expected text or audio", messages.get(5));
        assertEquals("mixed.jsonl line 9: bad_structure: message 0 content 0 (audio) has none of \"audio_url\", \"audio_codes\", \"raw_audio\"",
                messages.get(6));
        assertEquals("mixed.jsonl line 10: bad_structure: \"start_index\" must be an integer, got \"two\"", messages.get(7));
        assertEquals("mixed.jsonl line 11: bad_structure: \"messages\" is empty", messages.get(8));
        assertEquals("mixed.jsonl line 12: bad_structure: message 0 content 0 (text) has no \"text\" string", messages.get(9));
    }

    /** Every field read has its JSON type: a number where a string belongs fails the sample, naming the field. */
    @Test
    void wronglyTypedFieldsFailTheirSample(@TempDir Path dir) throws Exception {
        String ok = "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]";
        String text = ok + ", \"speaker\": 7}\n"
                + ok + ", \"misc\": {\"speaker\": true}}\n"
                + ok + ", \"misc\": [1]}\n"
                + ok + ", \"start_index\": 1.5}\n"
                + "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"audio\", \"audio_url\": 3}]}]}\n"
                + "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"audio\", \"audio_url\": \"a.wav\", \"offset\": \"1\"}]}]}\n"
                + ok + ", \"speaker\": \"amy\", \"misc\": {\"speaker\": \"ignored: speaker is given\"}}\n";
        ChatMlReader.Result r = ChatMlReader.read(Fixtures.write(dir.resolve("typed.jsonl"), text));
        List<String> messages = r.failures().stream().map(f -> f.id() + ": " + f.message()).toList();
        assertEquals(List.of("typed.jsonl line 1: \"speaker\" must be a string, got a number",
                "typed.jsonl line 2: \"misc.speaker\" must be a string, got a boolean",
                "typed.jsonl line 3: \"misc\" must be an object, got a list",
                "typed.jsonl line 4: \"start_index\" must be an integer, got 1.5",
                "typed.jsonl line 5: message 0 content 0 \"audio_url\" must be a string, got a number",
                "typed.jsonl line 6: message 0 content 0 \"offset\" must be a number of seconds >= 0, got \"1\""), messages);
        assertEquals(List.of("amy"), r.samples().stream().map(ChatMlSample::speaker).toList());
    }

    @Test
    void aSingleObjectFileADirectoryAndABrokenArray(@TempDir Path dir) throws Exception {
        Fixtures.write(dir.resolve("set/a.json"), GENERAL);
        Fixtures.write(dir.resolve("set/b.jsonl"), CLONING.replace("\n", " ") + "\n" + GENERAL.replace("\n", " ") + "\n");
        Fixtures.write(dir.resolve("set/notes.txt"), "ignored");
        ChatMlReader.Result r = ChatMlReader.read(dir.resolve("set"));
        assertEquals(List.of("a.json", "b.jsonl line 1", "b.jsonl line 2"), r.samples().stream().map(ChatMlSample::id).toList());

        // JSONL content under a .json name is read line by line, not as its first object.
        Path multi = Fixtures.write(dir.resolve("multi.json"), GENERAL.replace("\n", " ") + "\n" + GENERAL.replace("\n", " ") + "\n");
        assertEquals(2, ChatMlReader.read(multi).samples().size());

        Path broken = Fixtures.write(dir.resolve("broken.json"), "[" + GENERAL + ",\n{\"messages\": ]");
        DataException e = assertThrows(DataException.class, () -> ChatMlReader.read(broken));
        assertTrue(e.getMessage().contains("broken.json is not valid JSON") && e.getMessage().contains("at line 5, column 14"), e.getMessage());
        assertThrows(DataException.class, () -> ChatMlReader.read(dir.resolve("missing.jsonl")));
        Path empty = Fixtures.write(dir.resolve("empty.jsonl"), "\n \n");
        assertTrue(assertThrows(DataException.class, () -> ChatMlReader.read(empty)).getMessage().contains("is empty"));
        Files.createDirectories(dir.resolve("nothing"));
        assertThrows(DataException.class, () -> ChatMlReader.read(dir.resolve("nothing")));

        // prepare-data's output folder: its eval.jsonl would be trained on, its report.json read as samples
        Fixtures.write(dir.resolve("prepared/train.jsonl"), CLONING.replace("\n", " ") + "\n");
        Fixtures.write(dir.resolve("prepared/eval.jsonl"), CLONING.replace("\n", " ") + "\n");
        Fixtures.write(dir.resolve("prepared/report.json"), "{}");
        e = assertThrows(DataException.class, () -> ChatMlReader.read(dir.resolve("prepared")));
        assertTrue(e.getMessage().contains("give --data_path " + dir.resolve("prepared/train.jsonl") + " and --eval_data_path "
                + dir.resolve("prepared/eval.jsonl")), e.getMessage());
    }

    @Test
    void codesPathsResolveAgainstTheDataFilesDirectory(@TempDir Path dir) {
        Path base = dir.resolve("data");
        assertEquals(base.resolve("codes/ref.npy"), AudioCodes.codesPath(base, new Audio("x.wav", "codes/ref.npy", false, null, null)));
        assertEquals(base.resolve("clips/q.codes.npy"), AudioCodes.codesPath(base, new Audio("clips/q.wav", null, false, null, null)));
        assertEquals(dir.resolve("up/q.codes.npy"), AudioCodes.codesPath(base, new Audio("../up/q.tar.flac", null, false, null, null))
                .resolveSibling("q.codes.npy"));
        assertEquals(Path.of("/abs/t.codes.npy"), AudioCodes.codesPath(base, new Audio("/abs/t.wav", null, false, null, null)));
        assertEquals(base.resolve("clips.v2/noext.codes.npy"), AudioCodes.codesPath(base, new Audio("clips.v2/noext", null, false, null, null)));
        assertNull(AudioCodes.codesPath(base, new Audio(null, null, true, null, null)));
    }
}
