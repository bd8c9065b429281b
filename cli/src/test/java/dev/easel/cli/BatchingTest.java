package dev.easel.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.engine.SharedData;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The images of a request denoised together in one UNet call per step give the pictures they give one by one (on the
 * real-architecture parity model; ONNX Runtime may round a batch differently, so within parity, not bit for bit).
 */
class BatchingTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"euler_a", "dpmpp_2m", "pndm"})
    void batchedImagesMatchImagesRunAlone(String scheduler) throws Exception {
        Optional<Path> index = SharedData.file("parity/model/model_index.json");
        if (index.isEmpty()) {
            System.out.println("SKIPPED BatchingTest: ../shared/parity/model not found");
        }
        Assumptions.assumeTrue(index.isPresent(), "../shared/parity/model not found");
        GenerationRequest request = GenerationRequest.builder("a lighthouse at sunset, oil painting")
                .negativePrompt("blurry").size(64, 64).steps(8).scheduler(scheduler).seed(5L).numImages(3).build();
        GenerationResult alone = run(index.get().getParent(), 1, request);
        GenerationResult batched = run(index.get().getParent(), 4, request);
        int steps = alone.timings().unetCalls() / 3;
        assertTrue(steps >= 8, "at least one call per step: " + steps);
        assertEquals(3 * steps, alone.timings().unetCalls(), "one call per image and step");
        assertEquals(steps, batched.timings().unetCalls(), "one call per step for all three images");
        for (int i = 0; i < 3; i++) {
            assertEquals(5L + i, batched.images().get(i).seed());
            int worst = largestDifference(alone.images().get(i).png(), batched.images().get(i).png());
            System.out.println("batching " + scheduler + " image " + i + ": largest difference " + worst);
            assertTrue(worst <= 1, "image " + i + " is " + worst + " grey levels from the unbatched one");
        }
    }

    private static GenerationResult run(Path folder, int maxBatchImages, GenerationRequest request) throws Exception {
        RuntimeOptions options = RuntimeOptions.defaults().withMaxBatchImages(maxBatchImages);
        try (ModelFolder model = ModelFolder.load(folder, new OrtRuntime(options))) {
            return new StableDiffusionPipeline(model).generate(request, s -> { }, () -> false);
        }
    }

    private static int largestDifference(byte[] a, byte[] b) {
        byte[] x = RgbImage.decode(a).rgb();
        byte[] y = RgbImage.decode(b).rgb();
        int worst = 0;
        for (int i = 0; i < x.length; i++) {
            worst = Math.max(worst, Math.abs((x[i] & 0xff) - (y[i] & 0xff)));
        }
        return worst;
    }
}
