package dev.easel.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.SharedData;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code easel run} against diffusers' own pipelines on a real Stable Diffusion architecture ({@code ../shared/parity}:
 * diffusers' UNet2DConditionModel and AutoencoderKL exported like diffusers' convert script, and the PNGs diffusers made
 * from them). Parity, as that folder defines it: the same size and no channel of any pixel more than 2 grey levels off.
 */
class DiffusersParityTest {
    private static final int TOLERANCE = 2;

    @TempDir
    static Path scratch;

    /** The core cases, and each part's (its init images and references in its own folder, the model shared). */
    private static final List<String> CASE_FILES = List.of("parity/cases.json", "parity/torch-noise/cases.json",
            "parity/prompt-weighting/cases.json", "parity/inpainting/cases.json", "parity/sdxl/cases.json",
            "parity/lora/cases.json", "parity/hires/cases.json", "parity/upscale/cases.json",
            "parity/sd3/cases.json");
    /** The components a part's partial model folder takes from the core fixture when it lacks them. */
    private static final List<String> COMPONENTS = List.of("model_index.json", "text_encoder", "tokenizer",
            "scheduler", "unet", "vae_encoder", "vae_decoder");

    static Stream<Arguments> cases() throws Exception {
        List<Arguments> cases = new ArrayList<>();
        for (String name : CASE_FILES) {
            Optional<Path> file = SharedData.file(name);
            if (file.isEmpty()) {
                System.out.println("SKIPPED diffusers parity: ../shared/" + name + " not found");
                cases.add(Arguments.of("(no " + name + ")", null, null, false));
                continue;
            }
            for (JsonNode c : new ObjectMapper().readTree(file.get().toFile()).path("cases")) {
                cases.add(Arguments.of(c.path("name").asText(), c, file.get().getParent(), false));
                if (c.has("plain_references")) {
                    // The same case read as plain text (brackets literal, truncated): diffusers' own encoder.
                    cases.add(Arguments.of("plain-" + c.path("name").asText(), c, file.get().getParent(), true));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void easelRunMatchesDiffusers(String name, JsonNode parityCase, Path folder, boolean plain) throws Exception {
        Assumptions.assumeTrue(parityCase != null, name + ": the parity data is not in ../shared");
        Path models = SharedData.file("parity/cases.json").orElseThrow().getParent();
        Path out = scratch.resolve(name + ".png");
        List<String> args = new ArrayList<>(List.of("run"));
        JsonNode given = parityCase.path("easel_args");
        for (int i = 0; i < given.size(); i++) {
            String arg = given.get(i).asText();
            String previous = i > 0 ? given.get(i - 1).asText() : "";
            args.add(switch (previous) {
                case "--model" -> modelFolder(folder, models, arg).toString();
                case "--init-image", "--mask", "--lora-dir", "--embeddings-dir" -> folder.resolve(arg).toString();
                case "--out" -> out.toString();
                default -> arg;
            });
        }
        if (plain) {
            args.addAll(List.of("--prompt-syntax", "plain"));
        }
        if (!args.contains("--noise")) {
            // The case's noise source (the core references, which do not say, start from Easel's own generator).
            args.addAll(List.of("--noise", parityCase.path("noise").asText("easel")));
        }
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.out.println("parity " + name + ": easel " + String.join(" ", args));
        int code = Main.run(args, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));

        BufferedImage ours = ImageIO.read(out.toFile());
        BufferedImage theirs = ImageIO.read(folder.resolve(parityCase.path(plain ? "plain_references" : "references").get(0).asText()).toFile());
        assertEquals(theirs.getWidth(), ours.getWidth(), "width");
        assertEquals(theirs.getHeight(), ours.getHeight(), "height");
        int worst = 0;
        for (int y = 0; y < ours.getHeight(); y++) {
            for (int x = 0; x < ours.getWidth(); x++) {
                int a = ours.getRGB(x, y);
                int b = theirs.getRGB(x, y);
                for (int shift = 0; shift <= 16; shift += 8) {
                    worst = Math.max(worst, Math.abs(((a >> shift) & 0xff) - ((b >> shift) & 0xff)));
                }
            }
        }
        System.out.println("parity " + name + ": largest difference " + worst + " grey levels");
        assertTrue(worst <= TOLERANCE, name + ": a pixel is " + worst + " grey levels from diffusers' (at most "
                + TOLERANCE + ")");
    }

    /**
     * The model a case names: the core fixture's folder, or a part's own folder completed with the core fixture's
     * components it does not hold (as the parts' READMEs say to assemble them), linked into a scratch folder.
     */
    private static Path modelFolder(Path caseFolder, Path models, String name) throws java.io.IOException {
        Path own = caseFolder.resolve(name);
        if (!java.nio.file.Files.isDirectory(own)) {
            return models.resolve(name);
        }
        if (COMPONENTS.stream().filter(c -> !c.equals("vae_encoder"))
                .allMatch(c -> java.nio.file.Files.exists(own.resolve(c)))
                || java.nio.file.Files.exists(own.resolve("vae/model.onnx"))
                || java.nio.file.Files.exists(own.resolve("transformer/model.onnx"))) {
            // a complete folder of its own (the core fixture, SDXL, the x4 upscaler's decoder-only vae/, SD3)
            return own;
        }
        Path assembled = scratch.resolve("models").resolve(caseFolder.getFileName() + "-" + name);
        if (!java.nio.file.Files.isDirectory(assembled)) {
            java.nio.file.Files.createDirectories(assembled);
            for (String component : COMPONENTS) {
                Path source = java.nio.file.Files.exists(own.resolve(component)) ? own.resolve(component)
                        : models.resolve("model").resolve(component);
                java.nio.file.Files.createSymbolicLink(assembled.resolve(component), source.toAbsolutePath());
            }
        }
        return assembled;
    }
}
