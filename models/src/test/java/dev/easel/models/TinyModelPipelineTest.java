package dev.easel.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.engine.model.ElementType;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The Stable-Diffusion-shaped tiny model runs end to end in both timestep variants, text-to-image and image-to-image. */
class TinyModelPipelineTest {

    @ParameterizedTest
    @EnumSource(value = TimestepInput.class, names = {"FLOAT32", "INT64"})
    void runsEndToEnd(TimestepInput variant, @TempDir Path scratch) throws Exception {
        Path folder = ModelGenerator.write(new ModelGenerator.Spec(ModelGenerator.Kind.TINY, variant, false),
                scratch.resolve("tiny"));
        assertTrue(Files.size(folder.resolve("unet/model.onnx_data")) > 100_000, "UNet weights in the external file");
        try (ModelFolder model = ModelFolder.load(folder, new OrtRuntime(RuntimeOptions.defaults()))) {
            assertEquals(variant == TimestepInput.INT64 ? ElementType.INT64 : ElementType.FLOAT, model.unet().timestepType());
            StableDiffusionPipeline pipeline = new StableDiffusionPipeline(model);
            GenerationRequest request = GenerationRequest.builder("a photograph of an astronaut riding a horse")
                    .negativePrompt("blurry").size(96, 64).steps(4).guidanceScale(7.5).scheduler("euler_a").seed(1L)
                    .build();
            GenerationResult result = pipeline.generate(request, step -> { }, () -> false);
            byte[] rgb = Pictures.rgbOf(result.images().get(0).png());
            assertEquals(96 * 64 * 3, rgb.length);
            assertTrue(distinctValues(rgb) > 16, "the tiny model draws something, not a flat picture");
            assertTrue(result.timings().onnxRunMillis() > 0);
            assertEquals("CPUExecutionProvider", result.executionProvider());

            GenerationRequest img2img = GenerationRequest.builder("a horse").size(96, 64).steps(4).scheduler("ddim")
                    .seed(2L).initImage(result.images().get(0).png(), 0.5).build();
            GenerationResult second = pipeline.generate(img2img, step -> { }, () -> false);
            assertEquals(96 * 64 * 3, Pictures.rgbOf(second.images().get(0).png()).length);
        }
    }

    private static int distinctValues(byte[] rgb) {
        boolean[] seen = new boolean[256];
        int count = 0;
        for (byte b : rgb) {
            if (!seen[b & 0xff]) {
                seen[b & 0xff] = true;
                count++;
            }
        }
        return count;
    }
}
