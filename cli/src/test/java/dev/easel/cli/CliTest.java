package dev.easel.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.tokenizer.ClipTokenizer;
import dev.easel.models.ModelGenerator;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line against a generated toy model: outputs, progress lines, and one clear line per user error. */
class CliTest {
    @TempDir
    static Path scratch;
    private static Path toy;

    @BeforeAll
    static void makeModel() throws Exception {
        toy = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.TOY), scratch.resolve("toy"));
    }

    private record Outcome(int exitCode, String out, String err) {
    }

    private static Outcome easel(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(List.of(args), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void runWritesPngsWithSuffixesForSeveralImages() throws Exception {
        Path out = scratch.resolve("out/cat.png");
        Outcome outcome = easel("run", "--model", toy.toString(), "--prompt", "green square", "--steps", "6",
                "--width", "64", "--height", "64", "--num-images", "2", "--seed", "3", "--out", out.toString());
        assertEquals(0, outcome.exitCode(), outcome.err());
        Path first = scratch.resolve("out/cat-1.png");
        Path second = scratch.resolve("out/cat-2.png");
        assertEquals(List.of(first.toString(), second.toString()), outcome.out().lines().toList());
        assertTrue(Files.size(first) > 100 && Files.size(second) > 100);
    }

    @Test
    void progressJsonlHasOneLinePerStepThenASummary() throws Exception {
        Path out = scratch.resolve("progress.png");
        Outcome outcome = easel("run", "--model", toy.toString(), "--prompt", "red circle", "--steps", "5",
                "--scheduler", "euler", "--width", "64", "--height", "64", "--seed", "1", "--progress", "jsonl",
                "--out", out.toString());
        assertEquals(0, outcome.exitCode(), outcome.err());
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : outcome.out().lines().toList()) {
            lines.add(json.readTree(line));
        }
        assertEquals(6, lines.size());
        JsonNode first = lines.get(0);
        assertEquals(1, first.path("step").asInt());
        assertEquals(5, first.path("total").asInt());
        assertEquals(999.0, first.path("timestep").asDouble());
        assertEquals(14.6146, first.path("sigma").asDouble(), 1e-3);
        assertTrue(first.has("elapsedMillis"));
        JsonNode summary = lines.get(5);
        assertEquals(1, summary.path("seed").asLong());
        assertEquals(out.toString(), summary.path("images").get(0).path("path").asText());
    }

    @Test
    void sameCommandGivesTheSameBytes() throws Exception {
        Path a = scratch.resolve("a.png");
        Path b = scratch.resolve("b.png");
        for (Path out : List.of(a, b)) {
            assertEquals(0, easel("run", "--model", toy.toString(), "--prompt", "blue stripes", "--steps", "4",
                    "--scheduler", "euler_a", "--width", "64", "--height", "64", "--seed", "99", "--out",
                    out.toString()).exitCode());
        }
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    }

    @Test
    void tokenizePrintsTheIdsAsOneJsonArray() throws Exception {
        Outcome outcome = easel("tokenize", "--model", toy.toString(), "a photo of a cat");
        assertEquals(0, outcome.exitCode(), outcome.err());
        JsonNode ids = new ObjectMapper().readTree(outcome.out());
        int[] expected = ClipTokenizer.load(toy.resolve("tokenizer")).encode("a photo of a cat");
        assertEquals(77, ids.size());
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], ids.get(i).asInt(), "id " + i);
        }
    }

    @Test
    void imageToImageFromTheCommandLine() throws Exception {
        Path init = scratch.resolve("init.png");
        assertEquals(0, easel("run", "--model", toy.toString(), "--prompt", "white", "--steps", "3", "--width", "64",
                "--height", "64", "--seed", "1", "--out", init.toString()).exitCode());
        Path out = scratch.resolve("img2img.png");
        Outcome outcome = easel("run", "--model", toy.toString(), "--prompt", "red", "--steps", "10", "--width", "64",
                "--height", "64", "--init-image", init.toString(), "--strength", "0.5", "--out", out.toString());
        assertEquals(0, outcome.exitCode(), outcome.err());
        assertTrue(Files.isRegularFile(out));
    }

    @Test
    void userErrorsGiveOneLineAndExitCode2() {
        String model = toy.toString();
        assertUserError("scheduler 'turbo' is unknown; choose one of ddim", "run", "--model", model, "--prompt", "x", "--scheduler", "turbo");
        assertUserError("width is 100; must be a multiple of 8", "run", "--model", model, "--prompt", "x", "--width",
                "100");
        assertUserError("strength is 1.5", "run", "--model", model, "--prompt", "x", "--init-image",
                toy.resolve("model_index.json").toString(), "--strength", "1.5");
        assertUserError("initImage", "run", "--model", model, "--prompt", "x", "--init-image",
                toy.resolve("model_index.json").toString());
        assertUserError("initImage file", "run", "--model", model, "--prompt", "x", "--init-image", "/nonexistent.png");
        assertUserError("model folder /nonexistent does not exist", "run", "--model", "/nonexistent", "--prompt", "x");
        assertUserError("--prompt is required", "run", "--model", model);
        assertUserError("--steps must be a whole number", "run", "--model", model, "--prompt", "x", "--steps", "many");
        assertUserError("--seed must be a whole number from -9223372036854775808 to 9223372036854775807", "run",
                "--model", model, "--prompt", "x", "--seed", "99999999999999999999");
        assertUserError("has no Karras sigmas", "run", "--model", model, "--prompt", "x", "--scheduler", "ddim",
                "--karras");
        assertUserError("unknown option --colour", "run", "--model", model, "--prompt", "x", "--colour", "red");
        assertUserError("unknown model kind 'huge'", "models", "make", "huge", scratch.resolve("h").toString());
        assertUserError("unknown command 'paint'", "paint");
        assertUserError("noise is 'perlin'; one of easel, torch", "run", "--model", model, "--prompt", "x", "--noise", "perlin");
        assertUserError("promptSyntax is 'compel'; one of a1111, plain", "run", "--model", model, "--prompt", "x", "--prompt-syntax",
                "compel");
        assertUserError("--mask needs --init-image", "run", "--model", model, "--prompt", "x", "--mask",
                toy.resolve("model_index.json").toString());
        assertUserError("mask file", "run", "--model", model, "--prompt", "x", "--init-image",
                toy.resolve("model_index.json").toString(), "--mask", "/nonexistent.png");
        assertUserError("--lcm is offered for the tiny model only", "models", "make", "toy",
                scratch.resolve("l").toString(), "--lcm");
        assertUserError("usage: easel keys create --tenant NAME", "keys");
        assertUserError("tenant 'Bad Name' must be", "keys", "create", "--tenant", "Bad Name", "--kafka", "127.0.0.1:1");
        assertUserError("must be at least 1", "keys", "create", "--tenant", "acme", "--max-active", "0", "--kafka",
                "127.0.0.1:1");
    }

    @Test
    void aGatewayThatDoesNotAnswerIsOneLineSayingWhatToDo() {
        for (String[] args : List.of(new String[] {"generate", "x", "--server", "http://127.0.0.1:1", "--key", "k"},
                new String[] {"jobs", "list", "--server", "http://127.0.0.1:1", "--key", "k"})) {
            Outcome outcome = easel(args);
            assertEquals(1, outcome.exitCode(), outcome.err());
            assertEquals(List.of("easel: cannot reach the gateway at http://127.0.0.1:1; start the local stack with"
                    + " ./easel up, or pass --server URL"), outcome.err().lines().toList(), List.of(args).toString());
        }
    }

    private static void assertUserError(String expected, String... args) {
        Outcome outcome = easel(args);
        assertEquals(2, outcome.exitCode(), "exit code for " + List.of(args) + ": " + outcome.err());
        List<String> lines = outcome.err().lines().filter(line -> line.startsWith("easel: ")).toList();
        assertEquals(1, lines.size(), "one error line: " + outcome.err());
        assertTrue(lines.get(0).contains(expected), "'" + lines.get(0) + "' should mention '" + expected + "'");
        assertTrue(outcome.out().isEmpty(), "nothing on stdout: " + outcome.out());
    }

    @Test
    void modelsMakeWritesACompleteFolder() {
        Path folder = scratch.resolve("made");
        Outcome outcome = easel("models", "make", "toy", folder.toString(), "--timestep", "int64");
        assertEquals(0, outcome.exitCode(), outcome.err());
        for (String file : List.of("model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json",
                "tokenizer/merges.txt", "tokenizer/tokenizer_config.json", "tokenizer/special_tokens_map.json",
                "text_encoder/model.onnx", "unet/model.onnx", "unet/model.onnx_data", "vae_decoder/model.onnx",
                "vae_decoder/config.json", "vae_encoder/model.onnx")) {
            assertTrue(Files.isRegularFile(folder.resolve(file)), file);
        }
    }

    @Test
    void anImageUpscalerMadeByModelsMakeRunsWithoutAPromptAndServesTheHiresFix() throws Exception {
        Path esrgan = scratch.resolve("esrgan");
        assertEquals(0, easel("models", "make", "esrgan", esrgan.toString()).exitCode());
        Path init = scratch.resolve("small.png");
        assertEquals(0, easel("run", "--model", toy.toString(), "--prompt", "white", "--steps", "2", "--width", "64",
                "--height", "64", "--seed", "1", "--out", init.toString()).exitCode());
        Path large = scratch.resolve("large.png");
        Outcome upscaled = easel("run", "--model", esrgan.toString(), "--init-image", init.toString(), "--out",
                large.toString());
        assertEquals(0, upscaled.exitCode(), upscaled.err());
        assertEquals(256, javax.imageio.ImageIO.read(large.toFile()).getWidth());
        assertUserError("initImage is required", "run", "--model", esrgan.toString());
        Path hires = scratch.resolve("hires.png");
        Outcome twoPasses = easel("run", "--model", toy.toString(), "--prompt", "red", "--steps", "3", "--width", "64",
                "--height", "64", "--hires-upscaler", esrgan.toString(), "--hires-steps", "2", "--out",
                hires.toString());
        assertEquals(0, twoPasses.exitCode(), twoPasses.err());
        assertEquals(128, javax.imageio.ImageIO.read(hires.toFile()).getWidth());
    }
}
