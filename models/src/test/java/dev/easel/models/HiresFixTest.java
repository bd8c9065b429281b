package dev.easel.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import dev.easel.engine.pipeline.StepProgress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hires fix beyond the parity cases, on the generated tiny model: the enlarged output, progress that counts both
 * passes and says which, batched images that match images run alone, the infotext, and the requests it refuses.
 */
class HiresFixTest {
    @TempDir
    static Path scratch;

    private static ModelFolder model;
    private static StableDiffusionPipeline pipeline;

    @BeforeAll
    static void load() throws Exception {
        Path folder = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.TINY), scratch.resolve("tiny"));
        model = ModelFolder.load(folder, new OrtRuntime(RuntimeOptions.defaults().withMaxBatchImages(2)));
        pipeline = new StableDiffusionPipeline(model);
    }

    @AfterAll
    static void close() throws Exception {
        model.close();
    }

    private static GenerationRequest.Builder request(String upscaler) {
        return GenerationRequest.builder("a horse in a field").negativePrompt("blurry").size(64, 128).steps(6)
                .scheduler("euler_a").seed(9L).hires(new GenerationRequest.Hires(1.5, upscaler, 8, 0.5));
    }

    @Test
    void theSecondPassEnlargesThePictureAndProgressCountsBothPasses() throws Exception {
        for (String upscaler : List.of("latent", "lanczos")) {
            List<StepProgress> steps = new ArrayList<>();
            GenerationResult result = pipeline.generate(request(upscaler).build(), steps::add, () -> false);
            GenerationResult.GeneratedImage image = result.images().get(0);
            assertEquals(96, image.width(), upscaler);
            assertEquals(192, image.height(), upscaler);
            assertEquals(96 * 192 * 3, Pictures.rgbOf(image.png()).length);
            assertEquals(10, steps.size(), "6 steps, then 8 x 0.5 = 4");
            assertEquals(List.of(1, 1, 1, 1, 1, 1, 2, 2, 2, 2), steps.stream().map(StepProgress::pass).toList());
            assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), steps.stream().map(StepProgress::step).toList());
            assertTrue(steps.stream().allMatch(s -> s.total() == 10));
            assertEquals(10, pipeline.plan(request(upscaler).build()).stepsPerImage(), "what the started event says");
            assertTrue(image.infotext().contains(", Size: 64x128,"), image.infotext());
            assertTrue(image.infotext().endsWith(", Denoising strength: 0.5, Hires upscale: 1.5, Hires steps: 8,"
                    + " Hires upscaler: " + (upscaler.equals("latent") ? "Latent" : "Lanczos")), image.infotext());
        }
    }

    @Test
    void batchedImagesAreTheImagesRunAlone() throws Exception {
        GenerationResult batched = pipeline.generate(request("latent").numImages(2).build(), s -> { }, () -> false);
        GenerationResult second = pipeline.generate(request("latent").seed(10L).build(), s -> { }, () -> false);
        assertTrue(Pictures.maxDifference(Pictures.rgbOf(batched.images().get(1).png()),
                Pictures.rgbOf(second.images().get(0).png())) <= 1, "image 1 of seed 9 is seed 10's picture");
    }

    @Test
    void requestsTheHiresFixCannotServeAreRefused() {
        InvalidRequestException imageToImage = assertThrows(InvalidRequestException.class, () -> pipeline.plan(
                request("latent").initImage(new byte[] {1}, 0.5).build()));
        assertTrue(imageToImage.getMessage().contains("text-to-image only"), imageToImage.getMessage());
        InvalidRequestException tooLarge = assertThrows(InvalidRequestException.class, () -> pipeline.plan(
                request("latent").size(1024, 1024).hires(new GenerationRequest.Hires(3, "latent", 8, 0.5)).build()));
        assertTrue(tooLarge.getMessage().contains("at most 2048 on a side"), tooLarge.getMessage());
        InvalidRequestException upscaler = assertThrows(InvalidRequestException.class, () -> pipeline.plan(
                request("bicubic").build()));
        assertTrue(upscaler.getMessage().contains("is not an upscaler this worker has; it has latent, lanczos"),
                upscaler.getMessage());
    }
}
