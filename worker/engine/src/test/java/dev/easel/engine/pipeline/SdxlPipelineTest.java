package dev.easel.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.engine.SharedData;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** SDXL in Optimum's layout ({@code ../shared/parity/sdxl/model}): how the folder is read, beyond the parity cases. */
class SdxlPipelineTest {
    private static ModelFolder model;

    @BeforeAll
    static void load() {
        Optional<Path> index = SharedData.file("parity/sdxl/model/model_index.json");
        if (index.isEmpty()) {
            System.out.println("SKIPPED SdxlPipelineTest: ../shared/parity/sdxl/model not found");
        }
        Assumptions.assumeTrue(index.isPresent(), "../shared/parity/sdxl/model not found");
        model = ModelFolder.load(index.get().getParent(), new OrtRuntime(RuntimeOptions.defaults()));
    }

    @AfterAll
    static void close() throws Exception {
        if (model != null) {
            model.close();
        }
    }

    @Test
    void readsTheFolderAsSdxl() {
        assertTrue(model.isSdxl());
        assertTrue(model.unet().takesAddedConditioning());
        assertTrue(model.forceZerosForEmptyPrompt());
        assertEquals(1024, model.defaultSide(), "8 x the UNet's sample_size");
        assertEquals(0.13025f, model.scalingFactor());
    }

    @Test
    void noNegativePromptIsZeroConditioningNotTheEncodedEmptyText() throws Exception {
        StableDiffusionPipeline pipeline = new StableDiffusionPipeline(model);
        GenerationRequest none = GenerationRequest.builder("a red fox").size(64, 64).steps(4).seed(3L).build();
        GenerationRequest space = GenerationRequest.builder("a red fox").negativePrompt(" ").size(64, 64).steps(4)
                .seed(3L).build();
        byte[] zeros = pipeline.generate(none, s -> { }, () -> false).images().get(0).png();
        byte[] encoded = pipeline.generate(space, s -> { }, () -> false).images().get(0).png();
        assertArrayEquals(zeros, pipeline.generate(none, s -> { }, () -> false).images().get(0).png(), "deterministic");
        assertFalse(java.util.Arrays.equals(zeros, encoded), "an empty negative prompt is not encoded");
    }

    @Test
    void weightedLongPromptsRunThroughBothEncoders() throws Exception {
        StableDiffusionPipeline pipeline = new StableDiffusionPipeline(model);
        String prompt = "a (red:1.3) fox, " + "snow, ".repeat(50);
        GenerationResult result = pipeline.generate(GenerationRequest.builder(prompt).size(64, 64).steps(2).seed(1L)
                .build(), s -> { }, () -> false);
        GenerationResult plain = pipeline.generate(GenerationRequest.builder(prompt).size(64, 64).steps(2).seed(1L)
                .promptSyntax(dev.easel.engine.prompt.PromptSyntax.PLAIN).build(), s -> { }, () -> false);
        assertEquals(64, result.images().get(0).width());
        assertFalse(java.util.Arrays.equals(result.images().get(0).png(), plain.images().get(0).png()));
    }
}
