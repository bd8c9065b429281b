package dev.easel.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLIP tokenizer on the real SD 1.x vocabulary against the reference ids in ../shared/conformance. */
class ClipTokenizerTest {
    private static ClipTokenizer tokenizer;

    @BeforeAll
    static void loadRealVocabulary() throws IOException {
        Optional<Path> vocab = SharedData.file("clip-tokenizer/vocab.json");
        if (vocab.isEmpty()) {
            System.out.println("SKIPPED ClipTokenizerTest: ../shared/clip-tokenizer/vocab.json not found");
        }
        Assumptions.assumeTrue(vocab.isPresent(), "../shared/clip-tokenizer not found");
        tokenizer = ClipTokenizer.load(vocab.get().getParent());
    }

    @Test
    void reproducesReferenceIds() throws IOException {
        Optional<Path> file = SharedData.file("conformance/clip-tokens.json");
        Assumptions.assumeTrue(file.isPresent(), "../shared/conformance/clip-tokens.json not found");
        JsonNode cases = new ObjectMapper().readTree(file.get().toFile()).path("cases");
        Iterator<Map.Entry<String, JsonNode>> entries = cases.fields();
        int checked = 0;
        while (entries.hasNext()) {
            Map.Entry<String, JsonNode> entry = entries.next();
            int[] expected = new int[entry.getValue().size()];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = entry.getValue().get(i).asInt();
            }
            assertArrayEquals(expected, tokenizer.encode(entry.getKey()), "ids of '" + entry.getKey() + "'");
            checked++;
        }
        assertTrue(checked >= 5, "conformance cases checked: " + checked);
    }

    @Test
    void truncatesLongPromptsAndEndsWithEos() {
        int[] ids = tokenizer.encode("cat ".repeat(200));
        assertEquals(77, ids.length);
        assertEquals(49406, ids[0]);
        assertEquals(49407, ids[76]);
        for (int i = 1; i < 76; i++) {
            assertEquals(2368, ids[i], "position " + i);
        }
    }

    @Test
    void emptyPromptIsBosEosAndPadding() {
        int[] ids = tokenizer.encode("");
        assertEquals(49406, ids[0]);
        for (int i = 1; i < 77; i++) {
            assertEquals(49407, ids[i]);
        }
    }

    @Test
    void cleansTextTheWayClipDoes() {
        assertEquals(tokenizer.bpeIds("a photo of a cat"), tokenizer.bpeIds("  A\u00a0PHOTO\n of a   Cat "));
        assertEquals(tokenizer.bpeIds("rock & roll"), tokenizer.bpeIds("rock &amp; roll"));
        assertEquals(tokenizer.bpeIds("it's \"fine\""), tokenizer.bpeIds("it\u2019s \u201cfine\u201d"));
        assertEquals(tokenizer.bpeIds("abc"), tokenizer.bpeIds("\uff41\uff42\uff43"));
    }

    @Test
    void handlesAnyUnicodeThroughBytes() {
        List<Integer> ids = tokenizer.bpeIds("caf\u00e9 \u732b \ud83d\ude00 \u0627\u0644\u0642\u0637");
        assertTrue(ids.size() >= 4, "ids: " + ids);
        assertTrue(ids.stream().allMatch(id -> id >= 0 && id < 49408));
    }

    @Test
    void padsWithTheConfiguredPadToken(@TempDir Path folder) throws IOException {
        Path shared = SharedData.file("clip-tokenizer/vocab.json").orElseThrow().getParent();
        Files.copy(shared.resolve("vocab.json"), folder.resolve("vocab.json"));
        Files.copy(shared.resolve("merges.txt"), folder.resolve("merges.txt"));
        Files.writeString(folder.resolve("tokenizer_config.json"),
                "{\"model_max_length\": 77, \"pad_token\": {\"content\": \"!\"}}");
        int[] ids = ClipTokenizer.load(folder).encode("a photo of a cat");
        assertEquals(49407, ids[6]);
        assertEquals(0, ids[7], "SD 2.x pads with '!' (id 0)");
    }

    @Test
    void missingFilesAreNamed(@TempDir Path folder) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> ClipTokenizer.load(folder));
        assertTrue(error.getMessage().contains("vocab.json"), error.getMessage());
    }
}
