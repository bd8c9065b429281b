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

    static Stream<Arguments> cases() throws Exception {
        Optional<Path> file = SharedData.file("parity/cases.json");
        if (file.isEmpty()) {
            System.out.println("SKIPPED diffusers parity: ../shared/parity/cases.json not found");
            return Stream.of(Arguments.of("(no parity data)", null));
        }
        List<Arguments> cases = new ArrayList<>();
        for (JsonNode c : new ObjectMapper().readTree(file.get().toFile()).path("cases")) {
            cases.add(Arguments.of(c.path("name").asText(), c));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void easelRunMatchesDiffusers(String name, JsonNode parityCase) throws Exception {
        Assumptions.assumeTrue(parityCase != null, "../shared/parity/cases.json not found");
        Path folder = SharedData.file("parity/cases.json").orElseThrow().getParent();
        Path out = scratch.resolve(name + ".png");
        List<String> args = new ArrayList<>(List.of("run"));
        JsonNode given = parityCase.path("easel_args");
        for (int i = 0; i < given.size(); i++) {
            String arg = given.get(i).asText();
            String previous = i > 0 ? given.get(i - 1).asText() : "";
            args.add(switch (previous) {
                case "--model", "--init-image" -> folder.resolve(arg).toString();
                case "--out" -> out.toString();
                default -> arg;
            });
        }
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));

        BufferedImage ours = ImageIO.read(out.toFile());
        BufferedImage theirs = ImageIO.read(folder.resolve(parityCase.path("references").get(0).asText()).toFile());
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
}
