package dev.easel.engine.prompt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.SharedData;
import dev.easel.engine.tokenizer.ClipTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The attention parser and the chunker against AUTOMATIC1111's own {@code parse_prompt_attention} and
 * {@code tokenize_line} output ({@code ../shared/parity/prompt-weighting/prompt-parses.json}) on the SD 1.5 tokenizer.
 */
class PromptChunkerTest {
    private static final String PARSES = "parity/prompt-weighting/prompt-parses.json";

    static Stream<Arguments> prompts() throws IOException {
        Optional<Path> file = SharedData.file(PARSES);
        if (file.isEmpty()) {
            System.out.println("SKIPPED PromptChunkerTest: ../shared/" + PARSES + " not found");
            return Stream.of(Arguments.of("(no " + PARSES + ")", null));
        }
        List<Arguments> cases = new ArrayList<>();
        for (JsonNode entry : new ObjectMapper().readTree(file.get().toFile()).path("prompts")) {
            cases.add(Arguments.of(entry.path("prompt").asText(), entry));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("prompts")
    void parsesAsA1111(String prompt, JsonNode expected) {
        Assumptions.assumeTrue(expected != null, "../shared/" + PARSES + " not found");
        List<WeightedText> parsed = AttentionParser.parse(prompt);
        JsonNode runs = expected.path("parse");
        assertEquals(runs.size(), parsed.size(), "runs of " + parsed);
        for (int i = 0; i < runs.size(); i++) {
            assertEquals(runs.get(i).get(0).asText(), parsed.get(i).text(), "text of run " + i);
            assertEquals(runs.get(i).get(1).asDouble(), parsed.get(i).weight(), 0.0, "weight of run " + i);
        }
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("prompts")
    void chunksAsA1111(String prompt, JsonNode expected) throws IOException {
        Assumptions.assumeTrue(expected != null, "../shared/" + PARSES + " not found");
        PromptChunker.Chunks chunks = new PromptChunker(tokenizer()).weighted(prompt);
        JsonNode theirs = expected.path("chunks");
        assertEquals(theirs.size(), chunks.chunks().size(), "chunk count");
        assertEquals(expected.path("token_count").asInt(), chunks.tokenCount(), "token count");
        for (int c = 0; c < theirs.size(); c++) {
            JsonNode chunk = theirs.get(c);
            int[] ids = new int[chunk.path("tokens").size()];
            float[] multipliers = new float[ids.length];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = chunk.path("tokens").get(i).asInt();
                multipliers[i] = (float) chunk.path("multipliers").get(i).asDouble();
            }
            assertArrayEquals(ids, chunks.chunks().get(c).ids(), "ids of chunk " + c);
            assertArrayEquals(multipliers, chunks.chunks().get(c).multipliers(), "multipliers of chunk " + c);
        }
    }

    @Test
    void breakInsideBracketsIsTheWordWithItsWeight() {
        List<WeightedText> parsed = AttentionParser.parse("(a BREAK b)");
        assertEquals(List.of(new WeightedText("a", 1.1), new WeightedText("BREAK", -1.1), new WeightedText("b", 1.1)),
                parsed);
    }

    @Test
    void aWeightThatIsNoNumberLeavesTheTextUnweighted() {
        assertEquals(List.of(new WeightedText("x", 1.0)), AttentionParser.parse("(x:1.2.3)"));
        assertEquals(List.of(new WeightedText("a:b", 1.0)), AttentionParser.parse("a:b"));
    }

    @Test
    void plainTextKeepsBracketsAndTruncates() throws IOException {
        ClipTokenizer tokenizer = tokenizer();
        PromptChunker.Chunks plain = new PromptChunker(tokenizer).plain("(cat:1.5) " + "dog ".repeat(100));
        assertEquals(1, plain.chunks().size());
        assertArrayEquals(tokenizer.encode("(cat:1.5) " + "dog ".repeat(100)), plain.chunks().get(0).ids());
        assertEquals(true, plain.chunks().get(0).unweighted());
    }

    private static ClipTokenizer tokenizer() throws IOException {
        Optional<Path> vocab = SharedData.file("clip-tokenizer/vocab.json");
        Assumptions.assumeTrue(vocab.isPresent(), "../shared/clip-tokenizer not found");
        return ClipTokenizer.load(vocab.get().getParent());
    }
}
