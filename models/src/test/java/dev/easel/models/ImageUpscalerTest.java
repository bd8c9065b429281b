package dev.easel.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.engine.adapter.AdapterLibrary;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.model.ImageUpscaler;
import dev.easel.engine.model.ModelException;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.ImageUpscalePipeline;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.ModelKind;
import dev.easel.engine.pipeline.Pipeline;
import dev.easel.engine.pipeline.StepProgress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX image upscalers (the ESRGAN family) on the generated tiny one: the factor read from the network, tiles that
 * reproduce the whole picture, the job of its own (progress per tile, infotext, refusals) and the hires fix's
 * upscaler.
 */
class ImageUpscalerTest {
    /** Largest difference between the tiled and the whole picture; the tiny network sees 3 pixels each way. */
    static final int TILED_TOLERANCE = 2;

    @TempDir
    static Path scratch;

    private static Path folder;
    private static Pipeline whole;

    @BeforeAll
    static void load() throws Exception {
        folder = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.ESRGAN), scratch.resolve("esrgan"));
        whole = Pipeline.load(folder, new OrtRuntime(RuntimeOptions.defaults()), AdapterLibrary.empty(), Map.of());
    }

    @AfterAll
    static void close() {
        whole.close();
    }

    @Test
    void aFolderWithModelOnnxAloneIsAnImageUpscalerOfTheNetworksFactor() {
        assertInstanceOf(ImageUpscalePipeline.class, whole);
        assertEquals(ModelKind.IMAGE_UPSCALER, whole.kind());
        assertEquals("esrgan", whole.modelName());
        assertEquals(4, ((ImageUpscalePipeline) whole).upscaler().scale());
    }

    @Test
    void theJobEnlargesThePictureReportingEachTile() throws Exception {
        RgbImage picture = picture(40, 24);
        List<StepProgress> steps = new ArrayList<>();
        GenerationResult result = whole.generate(GenerationRequest.builder("").initImage(picture.toPng(null, null), 1)
                .build(), steps::add, () -> false);
        GenerationResult.GeneratedImage image = result.images().get(0);
        assertEquals(160, image.width());
        assertEquals(96, image.height());
        assertEquals(List.of(1), steps.stream().map(StepProgress::step).toList(), "one tile: the picture is small");
        assertEquals("Postprocess upscale by: 4, Postprocess upscaler: esrgan, Size: 40x24", image.infotext());
        // The network adds detail to the picture enlarged by nearest neighbour: it stays that picture.
        byte[] enlarged = Pictures.rgbOf(image.png());
        double sum = 0;
        for (int y = 0; y < 96; y++) {
            for (int x = 0; x < 160; x++) {
                for (int c = 0; c < 3; c++) {
                    sum += Math.abs((enlarged[(y * 160 + x) * 3 + c] & 0xff)
                            - (picture.rgb()[((y / 4) * 40 + x / 4) * 3 + c] & 0xff));
                }
            }
        }
        double mean = sum / enlarged.length;
        assertTrue(mean > 0.5 && mean < 40, "mean distance from the nearest-neighbour enlargement: " + mean);
    }

    @Test
    void tilesReproduceTheWholePicture() throws Exception {
        RgbImage picture = picture(72, 40);
        GenerationRequest request = GenerationRequest.builder("").initImage(picture.toPng(null, null), 1).build();
        byte[] untiled = Pictures.rgbOf(whole.generate(request, s -> { }, () -> false).images().get(0).png());
        List<StepProgress> steps = new ArrayList<>();
        byte[] tiled;
        try (Pipeline small = Pipeline.load(folder, new OrtRuntime(RuntimeOptions.defaults().withUpscaleTile(32)),
                AdapterLibrary.empty(), Map.of())) {
            tiled = Pictures.rgbOf(small.generate(request, steps::add, () -> false).images().get(0).png());
        }
        assertEquals(List.of(1, 2, 3, 4, 5, 6), steps.stream().map(StepProgress::step).toList(),
                "tiles of 32 overlapping by 8: 3 across 72, 2 down 40");
        assertTrue(steps.stream().allMatch(s -> s.total() == 6));
        int worst = Pictures.maxDifference(untiled, tiled);
        System.out.println("image upscaler: tiled vs whole, largest difference " + worst + " grey levels");
        assertTrue(worst <= TILED_TOLERANCE, "largest difference " + worst);
    }

    @Test
    void requestsAnUpscalerCannotServeAreRefused() {
        byte[] png = picture(16, 16).toPng(null, null);
        assertEquals("initImage", refusal(GenerationRequest.builder("").build()));
        assertEquals("numImages", refusal(GenerationRequest.builder("").initImage(png, 1).numImages(2).build()));
        assertEquals("mask", refusal(GenerationRequest.builder("").initImage(png, 1).mask(png).build()));
        assertEquals("width", refusal(GenerationRequest.builder("").initImage(png, 1).size(128, 128).build()));
        InvalidRequestException large = assertThrows(InvalidRequestException.class, () -> whole.plan(
                GenerationRequest.builder("").initImage(picture(520, 16).toPng(null, null), 1).build()));
        assertTrue(large.getMessage().contains("2080x64") && large.getMessage().contains("2048"), large.getMessage());
    }

    @Test
    void aConfigThatDisagreesWithTheNetworkIsRefusedAtLoad() throws Exception {
        Path wrong = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.ESRGAN), scratch.resolve("wrong"));
        Files.writeString(wrong.resolve("config.json"), "{\"scale\": 2}");
        ModelException e = assertThrows(ModelException.class,
                () -> ImageUpscaler.load(wrong, new OrtRuntime(RuntimeOptions.defaults())));
        assertTrue(e.getMessage().contains("scale 2") && e.getMessage().contains("4 times"), e.getMessage());
    }

    @Test
    void theHiresFixEnlargesWithAnUpscalerModel() throws Exception {
        Path tinyFolder = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.TINY), scratch.resolve("tiny"));
        ImageUpscaler upscaler = ((ImageUpscalePipeline) whole).upscaler();
        try (Pipeline tiny = Pipeline.load(tinyFolder, new OrtRuntime(RuntimeOptions.defaults()),
                AdapterLibrary.empty(), Map.of("esrgan", upscaler))) {
            List<StepProgress> steps = new ArrayList<>();
            GenerationRequest.Builder request = GenerationRequest.builder("a horse in a field").size(64, 64).steps(4)
                    .scheduler("euler").seed(3L);
            GenerationResult result = tiny.generate(request.hires(new GenerationRequest.Hires(2, "esrgan", 4, 0.5))
                    .build(), steps::add, () -> false);
            GenerationResult.GeneratedImage image = result.images().get(0);
            assertEquals(128, image.width());
            assertEquals(List.of(1, 1, 1, 1, 2, 2), steps.stream().map(StepProgress::pass).toList());
            assertTrue(image.infotext().endsWith(", Hires upscaler: esrgan"), image.infotext());
            byte[] viaLanczos = Pictures.rgbOf(tiny.generate(request.hires(new GenerationRequest.Hires(2, "lanczos",
                    4, 0.5)).build(), s -> { }, () -> false).images().get(0).png());
            assertTrue(Pictures.maxDifference(Pictures.rgbOf(image.png()), viaLanczos) > 0,
                    "the upscaler model, not Lanczos alone, enlarged the first pass");
            InvalidRequestException unknown = assertThrows(InvalidRequestException.class, () -> tiny.plan(
                    request.hires(new GenerationRequest.Hires(2, "realesrgan", 4, 0.5)).build()));
            assertTrue(unknown.getMessage().contains("latent, lanczos, esrgan"), unknown.getMessage());
        }
    }

    private static String refusal(GenerationRequest request) {
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> whole.plan(request));
        return e.errors().get(0).field();
    }

    /** A picture with smooth areas and edges: a gradient with a few rectangles and some noise. */
    private static RgbImage picture(int width, int height) {
        Random random = new Random(width * 31L + height);
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                boolean box = (x / 8 + y / 8) % 3 == 0;
                for (int c = 0; c < 3; c++) {
                    int value = box ? 40 + 60 * c : (x * 255 / width + y * 100 / height + c * 50) % 256;
                    rgb[(y * width + x) * 3 + c] = (byte) Math.max(0, Math.min(255, value + random.nextInt(9) - 4));
                }
            }
        }
        return new RgbImage(width, height, rgb);
    }
}
