package dev.easel.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.engine.SharedData;
import dev.easel.engine.adapter.AdapterLibrary;
import dev.easel.engine.model.ModelException;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SD3 in Optimum's layout ({@code ../shared/parity/sd3/model}) beyond the parity cases: T5 left out, refusals. */
class Sd3PipelineTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path scratch;

    private static Path folder;
    private static Pipeline pipeline;

    @BeforeAll
    static void load() {
        Optional<Path> index = SharedData.file("parity/sd3/model/model_index.json");
        if (index.isEmpty()) {
            System.out.println("SKIPPED Sd3PipelineTest: ../shared/parity/sd3/model not found");
        }
        Assumptions.assumeTrue(index.isPresent(), "../shared/parity/sd3/model not found");
        folder = index.get().getParent();
        pipeline = load(folder, RuntimeOptions.defaults());
    }

    @AfterAll
    static void close() {
        if (pipeline != null) {
            pipeline.close();
        }
    }

    private static Pipeline load(Path model, RuntimeOptions options) {
        return Pipeline.load(model, new OrtRuntime(options), AdapterLibrary.empty(), Map.of());
    }

    private static GenerationRequest.Builder request() {
        return GenerationRequest.builder("a red fox in a snowy forest").negativePrompt("blurry").steps(4)
                .guidanceScale(5).seed(3L);
    }

    @Test
    void theFolderIsAnSd3GeneratorAtItsDefaultSizeReportingEveryStep() throws Exception {
        assertInstanceOf(StableDiffusion3Pipeline.class, pipeline);
        List<StepProgress> steps = new ArrayList<>();
        GenerationResult result = pipeline.generate(request().build(), steps::add, () -> false);
        GenerationResult.GeneratedImage image = result.images().get(0);
        assertEquals(64, image.width(), "8 x the transformer's sample_size");
        assertEquals(List.of(1, 2, 3, 4), steps.stream().map(StepProgress::step).toList());
        assertEquals(1000.0, steps.get(0).timestep(), 1e-3, "sigma 1 x 1000");
        assertEquals("euler", result.scheduler());
        assertTrue(image.infotext().contains("Steps: 4, Sampler: Euler, Schedule type: Simple, CFG scale: 5, Seed: 3,"
                + " Size: 64x64, Model: model, Shift: 3, RNG: CPU"), image.infotext());
    }

    @Test
    void withoutT5ItsPlaceIsZerosWhetherTheFolderOrTheWorkerLeavesItOut() throws Exception {
        // A folder whose index names no T5, as diffusers saves a pipeline loaded with text_encoder_3=None.
        Path noT5 = linkedCopyWithout("model-no-t5", "model_index.json");
        ObjectNode index = (ObjectNode) JSON.readTree(folder.resolve("model_index.json").toFile());
        index.putArray("text_encoder_3").addNull().addNull();
        JSON.writeValue(noT5.resolve("model_index.json").toFile(), index);
        GenerationRequest request = request().build();
        byte[] withT5 = pipeline.generate(request, s -> { }, () -> false).images().get(0).png();
        GenerationResult.GeneratedImage byFolder;
        try (Pipeline folderWithout = load(noT5, RuntimeOptions.defaults())) {
            byFolder = folderWithout.generate(request, s -> { }, () -> false).images().get(0);
        }
        byte[] byWorker;
        try (Pipeline workerWithout = load(folder, RuntimeOptions.defaults().withoutT5(true))) {
            byWorker = workerWithout.generate(request, s -> { }, () -> false).images().get(0).png();
        }
        assertTrue(byFolder.infotext().endsWith(", T5: none"), byFolder.infotext());
        assertFalse(java.util.Arrays.equals(withT5, byWorker), "T5's states matter");
        assertEquals(Pictures.rgb(byFolder.png()).length, Pictures.rgb(byWorker).length);
        assertArrayEquals(Pictures.rgb(byFolder.png()), Pictures.rgb(byWorker), "the same zeros either way");
    }

    @Test
    void requestsTheModelCannotServeAreRefusedNamingWhatItTakes() {
        assertEquals("scheduler 'dpmpp_2m' does not apply to model model (Stable Diffusion 3, flow matching); it"
                + " takes euler", refusal(request().scheduler("dpmpp_2m").build()));
        assertTrue(refusal(request().karras(true).build()).startsWith("karras does not apply"));
        assertEquals("width is 512; model model's transformer covers at most 256 (its position embedding's grid)",
                refusal(request().size(512, 64).build()));
        assertTrue(refusal(GenerationRequest.builder("a fox <lora:style:1>").build()).startsWith("loras are not offered"));
        assertTrue(refusal(request().hires(new GenerationRequest.Hires(2, "latent", 4, 0.5)).build())
                .startsWith("hires is not offered"));
    }

    @Test
    void dynamicShiftingIsRefusedAtLoadSayingWhatToDo() throws Exception {
        Path dynamic = linkedCopyWithout("model-dynamic", "scheduler");
        ObjectNode config = (ObjectNode) JSON.readTree(folder.resolve("scheduler/scheduler_config.json").toFile());
        config.put("use_dynamic_shifting", true);
        Files.createDirectories(dynamic.resolve("scheduler"));
        JSON.writeValue(dynamic.resolve("scheduler/scheduler_config.json").toFile(), config);
        ModelException e = assertThrows(ModelException.class, () -> load(dynamic, RuntimeOptions.defaults()));
        assertTrue(e.getMessage().contains("use_dynamic_shifting is true") && e.getMessage().contains("set it to"),
                e.getMessage());
    }

    /** A folder {@code name} linking to every entry of the model folder but {@code left}, which the test writes. */
    private static Path linkedCopyWithout(String name, String left) throws java.io.IOException {
        Path copy = Files.createDirectories(scratch.resolve(name));
        try (var entries = Files.list(folder)) {
            for (Path entry : entries.toList()) {
                if (!entry.getFileName().toString().equals(left)) {
                    Files.createSymbolicLink(copy.resolve(entry.getFileName()), entry.toAbsolutePath());
                }
            }
        }
        return copy;
    }

    private static String refusal(GenerationRequest request) {
        return assertThrows(InvalidRequestException.class, () -> pipeline.plan(request)).getMessage();
    }

    /** Decoded pixels, so that PNGs differing only in their text chunk compare equal. */
    private static final class Pictures {
        static byte[] rgb(byte[] png) {
            return dev.easel.engine.image.RgbImage.decode(png).rgb();
        }
    }
}
