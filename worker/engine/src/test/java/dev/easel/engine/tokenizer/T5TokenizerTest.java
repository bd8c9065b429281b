package dev.easel.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.engine.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** T5's SentencePiece tokenizer against the ids SentencePiece gave for ../shared/parity/sd3's prompts. */
class T5TokenizerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path scratch;

    private static Path sd3() {
        Optional<Path> cases = SharedData.file("parity/sd3/cases.json");
        if (cases.isEmpty()) {
            System.out.println("SKIPPED T5TokenizerTest: ../shared/parity/sd3 not found");
        }
        Assumptions.assumeTrue(cases.isPresent(), "../shared/parity/sd3 not found");
        return cases.get().getParent();
    }

    @Test
    void spieceModelGivesSentencePiecesIdsForEveryCase() throws Exception {
        Path sd3 = sd3();
        T5Tokenizer tokenizer = T5Tokenizer.load(sd3.resolve("model/tokenizer_3"));
        checkCases(sd3, tokenizer);
    }

    @Test
    void aTokenizerJsonWithTheSameVocabularyGivesTheSameIds() throws Exception {
        Path sd3 = sd3();
        // The fast tokenizer's layout, as real exports ship it: model.vocab as [piece, score] by id.
        ObjectNode root = JSON.createObjectNode();
        ObjectNode model = root.putObject("model");
        model.put("type", "Unigram");
        model.put("unk_id", 2);
        ArrayNode vocab = model.putArray("vocab");
        JSON.readTree(sd3.resolve("t5-pieces.json").toFile()).path("pieces").forEach(vocab::add);
        root.putArray("added_tokens").addObject().put("content", "</s>");
        Path folder = Files.createDirectories(scratch.resolve("tokenizer_3"));
        JSON.writeValue(folder.resolve("tokenizer.json").toFile(), root);
        checkCases(sd3, T5Tokenizer.load(folder));
    }

    @Test
    void longPromptsKeepTheirEndMarkerAndEmptyOnesAreItAlone() throws Exception {
        T5Tokenizer tokenizer = T5Tokenizer.load(sd3().resolve("model/tokenizer_3"));
        int[] empty = tokenizer.encode("", 256);
        assertEquals(1, empty[0]);
        assertEquals(0, empty[1]);
        int[] longest = tokenizer.encode("a red fox ".repeat(200), 256);
        assertEquals(1, longest[255], "the pieces are cut at 255 so that </s> fits");
    }

    private static void checkCases(Path sd3, T5Tokenizer tokenizer) throws Exception {
        JsonNode cases = JSON.readTree(sd3.resolve("cases.json").toFile()).path("cases");
        for (JsonNode c : cases) {
            JsonNode tokens = JSON.readTree(sd3.resolve("refs/" + c.path("name").asText() + ".json").toFile())
                    .path("tokens");
            for (String which : new String[] {"prompt", "negative_prompt"}) {
                JsonNode expected = tokens.path(which).path("tokenizer_3");
                if (expected.isMissingNode()) {
                    continue;
                }
                String text = c.path(which).isNull() ? "" : c.path(which).asText("");
                int[] ids = tokenizer.encode(text, 256);
                int[] want = new int[expected.size()];
                for (int i = 0; i < want.length; i++) {
                    want[i] = expected.get(i).asInt();
                }
                assertArrayEquals(want, java.util.Arrays.copyOf(ids, want.length), c.path("name") + " " + which);
                for (int i = want.length; i < 256; i++) {
                    assertEquals(0, ids[i], "padding");
                }
            }
        }
    }
}
