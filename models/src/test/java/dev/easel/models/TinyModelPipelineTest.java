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

    @org.junit.jupiter.api.Test
    void anLcmUnetGetsTheGuidanceAsAnEmbeddingAndNoUnconditionalPass(@TempDir Path scratch) throws Exception {
        Path folder = ModelGenerator.write(new ModelGenerator.Spec(ModelGenerator.Kind.TINY, TimestepInput.FLOAT32,
                false, true), scratch.resolve("tiny-lcm"));
        try (ModelFolder model = ModelFolder.load(folder, new OrtRuntime(RuntimeOptions.defaults()))) {
            assertEquals(32, model.unet().guidanceEmbeddingWidth());
            StableDiffusionPipeline pipeline = new StableDiffusionPipeline(model);
            GenerationRequest.Builder request = GenerationRequest.builder("a horse").negativePrompt("ignored")
                    .size(64, 64).steps(4).scheduler("lcm").seed(3L);
            GenerationResult strong = pipeline.generate(request.guidanceScale(8.5).build(), step -> { }, () -> false);
            GenerationResult weak = pipeline.generate(request.guidanceScale(1.5).build(), step -> { }, () -> false);
            assertEquals(4, strong.timings().unetCalls(), "one UNet call per step");
            assertTrue(!java.util.Arrays.equals(strong.images().get(0).png(), weak.images().get(0).png()),
                    "the guidance embedding reaches the UNet");
            GenerationResult otherNegative = pipeline.generate(request.negativePrompt("anything else")
                    .guidanceScale(8.5).build(), step -> { }, () -> false);
            assertTrue(java.util.Arrays.equals(Pictures.rgbOf(strong.images().get(0).png()),
                    Pictures.rgbOf(otherNegative.images().get(0).png())),
                    "an LCM UNet has no unconditional pass, so the negative prompt plays no part");
        }
    }

    @org.junit.jupiter.api.Test
    void sdTurboSettingsOneTrailingStepWithoutGuidance(@TempDir Path scratch) throws Exception {
        Path folder = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.TINY), scratch.resolve("tiny"));
        try (ModelFolder model = ModelFolder.load(folder, new OrtRuntime(RuntimeOptions.defaults()))) {
            java.util.List<Double> timesteps = new java.util.ArrayList<>();
            GenerationResult result = new StableDiffusionPipeline(model).generate(GenerationRequest.builder("a horse")
                    .size(64, 64).steps(1).guidanceScale(0).scheduler("euler_a").timestepSpacing("trailing").seed(4L)
                    .build(), step -> timesteps.add(step.timestep()), () -> false);
            assertEquals(java.util.List.of(999.0), timesteps, "trailing spacing starts at the last training step");
            assertEquals(1, result.timings().unetCalls(), "one step, no unconditional pass");
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
