package dev.easel.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contracts.Json;
import dev.easel.deploy.LocalStack;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code easel jobs|models|workers} against the real local stack ({@code easel up} on free ports: Kafka, the S3 server,
 * a worker and the gateway), with the stack's own API key as {@code generate} uses it.
 */
class OperatorCliTest {
    private record Outcome(int exitCode, String out, String err) {
    }

    @TempDir
    static Path scratch;

    @BeforeAll
    static void up() {
        Outcome up = easel("up", "--port", port(), "--kafka-port", port(), "--s3-port", port(), "--worker-port", port());
        assertEquals(0, up.exitCode(), up.err());
    }

    @AfterAll
    static void down() {
        easel("down");
    }

    @Test
    void jobsModelsAndWorkersAsAnOperatorSeesThem() throws Exception {
        Outcome generated = easel("generate", "a red circle", "--width", "64", "--height", "64", "--steps", "2",
                "--out", scratch.resolve("circle.png").toString());
        assertEquals(0, generated.exitCode(), generated.err());
        Matcher queued = Pattern.compile("job (\\S+) queued").matcher(generated.err());
        assertTrue(queued.find(), generated.err());
        String id = queued.group(1);

        Outcome list = easel("jobs", "list", "--limit", "5");
        assertEquals(0, list.exitCode(), list.err());
        assertTrue(list.out().lines().findFirst().orElse("").startsWith("ID"), list.out());
        assertTrue(list.out().lines().anyMatch(l -> l.startsWith(id) && l.contains("completed")), list.out());

        Outcome show = easel("jobs", "show", id, "--json");
        assertEquals(0, show.exitCode(), show.err());
        JsonNode job = Json.MAPPER.readTree(show.out());
        assertEquals("completed", job.path("status").asText());
        assertEquals(1, job.path("images").size());

        Outcome finished = easel("jobs", "cancel", id);
        assertEquals(2, finished.exitCode(), "a finished job cannot be cancelled: " + finished.out());
        assertTrue(finished.err().startsWith("easel: "), finished.err());
        Outcome unknown = easel("jobs", "show", "0000000000000000000000000000");
        assertEquals(2, unknown.exitCode(), unknown.out());

        Outcome models = easel("models");
        assertEquals(0, models.exitCode(), models.err());
        assertTrue(models.out().lines().anyMatch(l -> l.startsWith("toy (default)")), models.out());

        Outcome workers = easel("workers", "--json");
        assertEquals(0, workers.exitCode(), workers.err());
        JsonNode worker = Json.MAPPER.readTree(workers.out()).path("workers").get(0);
        assertEquals("toy", worker.path("models").get(0).asText(), workers.out());
        assertEquals("CPUExecutionProvider", worker.path("executionProvider").asText());

        Outcome badUsage = easel("jobs", "show");
        assertEquals(2, badUsage.exitCode());
        assertTrue(badUsage.err().contains("usage: easel jobs show ID"), badUsage.err());
    }

    private static String port() {
        return String.valueOf(LocalStack.freePort());
    }

    private static Outcome easel(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new ArrayList<>(List.of(args)), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
