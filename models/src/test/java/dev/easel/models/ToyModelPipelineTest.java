package dev.easel.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.CancelledException;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import dev.easel.engine.pipeline.StepProgress;
import dev.easel.engine.scheduler.Scheduler;
import dev.easel.engine.scheduler.Schedulers;
import dev.easel.engine.tokenizer.ClipTokenizer;
import dev.easel.models.toy.ToyModel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The engine on the analytic toy model, with real ONNX Runtime inference: a correct pipeline (tokenizer, text encoder,
 * scheduler, guidance, VAE decoder, PNG) must land on the picture the prompt describes.
 */
class ToyModelPipelineTest {
    private static final String PROMPT = "a red circle on the left on a blue background";
    private static final double MIN_PSNR = 35.0;

    @TempDir
    static Path folder;
    private static ModelFolder model;
    private static StableDiffusionPipeline pipeline;
    private static ToyModel toy;

    @BeforeAll
    static void generate() throws Exception {
        Path toyFolder = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.TOY), folder.resolve("toy"));
        model = ModelFolder.load(toyFolder, new OrtRuntime(RuntimeOptions.defaults()));
        pipeline = new StableDiffusionPipeline(model);
        toy = toyOver(toyFolder);
    }

    @AfterAll
    static void close() throws Exception {
        model.close();
    }

    @SuppressWarnings("unchecked")
    static ToyModel toyOver(Path toyFolder) throws Exception {
        Map<String, Integer> vocabulary = new com.fasterxml.jackson.databind.ObjectMapper()
                .readValue(toyFolder.resolve("tokenizer/vocab.json").toFile(), Map.class);
        return new ToyModel(vocabulary, model.schedulerConfig());
    }

    /** The picture a correct pipeline draws: the guided combination of the two prompts' targets, decoded. */
    static byte[] expected(ToyModel toy, ClipTokenizer tokenizer, String prompt, String negative, double guidance,
            int width, int height) {
        float[] conditional = toy.targetLatent(tokenizer.encode(prompt), height / 8, width / 8);
        float[] latent = conditional;
        if (guidance > 1) {
            float[] unconditional = toy.targetLatent(tokenizer.encode(negative), height / 8, width / 8);
            latent = new float[conditional.length];
            for (int i = 0; i < latent.length; i++) {
                latent[i] = unconditional[i] + (float) guidance * (conditional[i] - unconditional[i]);
            }
        }
        return ToyModel.decodeToRgb(latent, height / 8, width / 8);
    }

    private static GenerationResult generate(GenerationRequest request) throws Exception {
        return pipeline.generate(request, step -> { }, () -> false);
    }

    static Stream<Arguments> schedulers() {
        List<Arguments> cases = new ArrayList<>();
        for (String name : Schedulers.NAMES) {
            cases.add(Arguments.of(name, false));
        }
        for (String name : Schedulers.KARRAS_CAPABLE) {
            cases.add(Arguments.of(name, true));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} karras={1}")
    @MethodSource("schedulers")
    void everySchedulerReproducesTheTarget(String scheduler, boolean karras) throws Exception {
        GenerationRequest request = GenerationRequest.builder(PROMPT).size(128, 128).steps(20).guidanceScale(1.0)
                .scheduler(scheduler).karras(karras).seed(7L).build();
        byte[] actual = Pictures.rgbOf(generate(request).images().get(0).png());
        double psnr = Pictures.psnr(expected(toy, model.tokenizer(), PROMPT, "", 1.0, 128, 128), actual);
        System.out.printf("toy %s karras=%s: PSNR %.1f dB%n", scheduler, karras, psnr);
        assertTrue(psnr >= MIN_PSNR, scheduler + " PSNR " + psnr);
    }

    @ParameterizedTest
    @MethodSource("guidedCases")
    void guidanceAndNegativePromptsCombineAsClassifierFreeGuidance(String scheduler, String negative) throws Exception {
        String prompt = "yellow square on a purple background";
        GenerationRequest request = GenerationRequest.builder(prompt).negativePrompt(negative).size(128, 96)
                .steps(25).guidanceScale(3.0).scheduler(scheduler).seed(11L).build();
        byte[] actual = Pictures.rgbOf(generate(request).images().get(0).png());
        double psnr = Pictures.psnr(expected(toy, model.tokenizer(), prompt, negative, 3.0, 128, 96), actual);
        System.out.printf("toy guided %s negative='%s': PSNR %.1f dB%n", scheduler, negative, psnr);
        assertTrue(psnr >= MIN_PSNR, "PSNR " + psnr);
    }

    static Stream<Arguments> guidedCases() {
        return Stream.of(Arguments.of("euler", ""), Arguments.of("dpmpp_2m", "green stripes"),
                Arguments.of("ddim", "cyan"), Arguments.of("unipc", "grey circle on the right"));
    }

    @Test
    void negativePromptChangesThePicture() throws Exception {
        GenerationRequest.Builder base = GenerationRequest.builder("red square").size(64, 64).steps(10)
                .guidanceScale(4).scheduler("euler").seed(3L);
        byte[] without = generate(base.build()).images().get(0).png();
        byte[] with = generate(base.negativePrompt("green").build()).images().get(0).png();
        assertFalse(java.util.Arrays.equals(Pictures.rgbOf(without), Pictures.rgbOf(with)));
    }

    @ParameterizedTest
    @MethodSource("imageToImageCases")
    void imageToImageLandsOnThePromptFromAnotherPicture(String scheduler, double strength) throws Exception {
        byte[] init = generate(GenerationRequest.builder("white square on a black background").size(128, 128)
                .steps(10).guidanceScale(1).scheduler("euler").seed(1L).build()).images().get(0).png();
        GenerationRequest request = GenerationRequest.builder(PROMPT).size(128, 128).steps(20).guidanceScale(1)
                .scheduler(scheduler).seed(5L).initImage(init, strength).build();
        List<StepProgress> steps = new ArrayList<>();
        byte[] actual = Pictures.rgbOf(pipeline.generate(request, steps::add, () -> false).images().get(0).png());
        double psnr = Pictures.psnr(expected(toy, model.tokenizer(), PROMPT, "", 1.0, 128, 128), actual);
        System.out.printf("toy img2img %s strength %.2f: PSNR %.1f dB, %d steps%n", scheduler, strength, psnr,
                steps.size());
        assertTrue(psnr >= MIN_PSNR, "PSNR " + psnr);
        Scheduler reference = Schedulers.create(scheduler, model.schedulerConfig(), false, null);
        reference.setTimesteps(20);
        int start = (20 - (int) (20 * strength)) * reference.order();
        assertEquals(reference.timesteps().length - start, steps.size(), "img2img runs steps x strength steps");
        assertEquals(reference.timesteps()[start], steps.get(0).timestep());
    }

    static Stream<Arguments> imageToImageCases() {
        return Stream.of(Arguments.of("euler", 0.75), Arguments.of("ddim", 0.6), Arguments.of("dpmpp_2m", 0.9),
                Arguments.of("heun", 0.5));
    }

    @Test
    void imageToImageAtLowStrengthKeepsTheInitPicture() throws Exception {
        byte[] init = generate(GenerationRequest.builder("green").size(64, 64).steps(10).guidanceScale(1)
                .scheduler("euler").seed(1L).build()).images().get(0).png();
        byte[] result = generate(GenerationRequest.builder("green").size(64, 64).steps(20).guidanceScale(1)
                .scheduler("euler").seed(2L).initImage(init, 0.1).build()).images().get(0).png();
        double psnr = Pictures.psnr(Pictures.rgbOf(init), Pictures.rgbOf(result));
        assertTrue(psnr >= MIN_PSNR, "same prompt from its own picture: PSNR " + psnr);
    }

    @Test
    void sameRequestAndSeedGiveIdenticalFiles() throws Exception {
        GenerationRequest request = GenerationRequest.builder(PROMPT).size(64, 64).steps(8).scheduler("euler_a")
                .seed(1234L).build();
        byte[] first = generate(request).images().get(0).png();
        byte[] second = generate(request).images().get(0).png();
        assertArrayEquals(first, second);
        byte[] otherSeed = generate(request.withSeed(1235L)).images().get(0).png();
        assertFalse(java.util.Arrays.equals(first, otherSeed), "a different seed gives a different file");
    }

    @Test
    void imageIOfARequestUsesSeedPlusI() throws Exception {
        GenerationRequest request = GenerationRequest.builder(PROMPT).size(64, 64).steps(6).scheduler("euler_a")
                .seed(500L).numImages(3).build();
        GenerationResult result = generate(request);
        assertEquals(3, result.images().size());
        assertEquals(502L, result.images().get(2).seed());
        byte[] single = generate(request.withSeed(502L).withNumImages(1)).images().get(0).png();
        assertArrayEquals(single, result.images().get(2).png());
    }

    @Test
    void randomSeedIsReportedAndReproducible() throws Exception {
        GenerationRequest request = GenerationRequest.builder(PROMPT).size(64, 64).steps(6).scheduler("euler_a").build();
        GenerationResult first = generate(request);
        byte[] again = generate(request.withSeed(first.seed())).images().get(0).png();
        assertArrayEquals(first.images().get(0).png(), again);
    }

    @Test
    void pngCarriesTheInfotext() throws Exception {
        GenerationRequest request = GenerationRequest.builder("red circle").negativePrompt("blue").size(64, 64)
                .steps(5).guidanceScale(7.5).scheduler("dpmpp_2m").karras(true).seed(42L).build();
        byte[] png = generate(request).images().get(0).png();
        String text = new String(png, StandardCharsets.ISO_8859_1);
        assertTrue(text.contains("tEXtparameters\0red circle\nNegative prompt: blue\nSteps: 5, Sampler: DPM++ 2M Karras,"
                + " CFG scale: 7.5, Seed: 42, Size: 64x64, Model: toy, RNG: CPU"), "infotext chunk missing");
        byte[] easelNoise = generate(GenerationRequest.builder("red circle").size(64, 64).steps(2).seed(42L)
                .noise(dev.easel.engine.noise.NoiseSource.Kind.EASEL).build()).images().get(0).png();
        assertTrue(!new String(easelNoise, StandardCharsets.ISO_8859_1).contains("RNG:"), "Easel's noise has no RNG");
    }

    @Test
    void progressReportsEveryStepWithTheSchedulersTimesteps() throws Exception {
        GenerationRequest request = GenerationRequest.builder(PROMPT).size(64, 64).steps(12).scheduler("lms")
                .seed(9L).previewEvery(4).build();
        List<StepProgress> steps = new ArrayList<>();
        pipeline.generate(request, steps::add, () -> false);
        Scheduler reference = Schedulers.create("lms", model.schedulerConfig(), false, null);
        reference.setTimesteps(12);
        assertEquals(12, steps.size());
        for (int i = 0; i < steps.size(); i++) {
            assertEquals(i + 1, steps.get(i).step());
            assertEquals(12, steps.get(i).total());
            assertEquals(reference.timesteps()[i], steps.get(i).timestep());
            assertEquals(reference.sigmas()[i], steps.get(i).sigma());
            assertEquals((i + 1) % 4 == 0, steps.get(i).previewPng() != null, "preview at step " + (i + 1));
        }
        byte[] preview = steps.get(11).previewPng();
        assertEquals(8 * 8 * 3, Pictures.rgbOf(preview).length, "previews are latent-sized");
    }

    @Test
    void cancellationStopsBetweenSteps() throws Exception {
        GenerationRequest request = GenerationRequest.builder(PROMPT).size(64, 64).steps(20).scheduler("euler")
                .seed(9L).build();
        List<StepProgress> steps = new ArrayList<>();
        CancelledException cancelled = assertThrows(CancelledException.class,
                () -> pipeline.generate(request, steps::add, () -> steps.size() >= 5));
        assertEquals(5, cancelled.completedSteps());
        assertEquals(5, steps.size());
    }

    @Test
    void invalidRequestsNameTheField() {
        assertField("width", GenerationRequest.builder("x").size(100, 64).build());
        assertField("height", GenerationRequest.builder("x").size(64, 4096).build());
        assertField("steps", GenerationRequest.builder("x").steps(0).build());
        assertField("guidanceScale", GenerationRequest.builder("x").guidanceScale(-1).build());
        assertField("numImages", GenerationRequest.builder("x").numImages(0).build());
        assertField("strength", GenerationRequest.builder("x").initImage(new byte[] {1}, 1.5).build());
        assertField("scheduler", GenerationRequest.builder("x").size(64, 64).scheduler("turbo").build());
        assertField("scheduler", GenerationRequest.builder("x").size(64, 64).scheduler("ddim").karras(true).build());
        assertField("steps", GenerationRequest.builder("x").size(64, 64).scheduler("lcm").steps(60).build());
        assertField("timestepSpacing", GenerationRequest.builder("x").size(64, 64).timestepSpacing("sideways").build());
        assertField("initImage", GenerationRequest.builder("x").size(64, 64).initImage(new byte[] {1, 2, 3}, 0.5).build());
    }

    private static void assertField(String field, GenerationRequest request) {
        InvalidRequestException error = assertThrows(InvalidRequestException.class,
                () -> pipeline.generate(request, step -> { }, () -> false));
        assertEquals(field, error.errors().get(0).field(), error.getMessage());
    }

    @Test
    void variantsWithInt64OrFloat16TensorsAndVPredictionLandOnTheTarget(@TempDir Path scratch) throws Exception {
        for (ModelGenerator.Spec spec : List.of(
                new ModelGenerator.Spec(ModelGenerator.Kind.TOY, TimestepInput.INT64, false),
                new ModelGenerator.Spec(ModelGenerator.Kind.TOY, TimestepInput.FLOAT16, false),
                new ModelGenerator.Spec(ModelGenerator.Kind.TOY, TimestepInput.FLOAT32, true))) {
            Path variant = ModelGenerator.write(spec, scratch.resolve(spec.timestepInput() + "-" + spec.vPrediction()));
            try (ModelFolder other = ModelFolder.load(variant, new OrtRuntime(RuntimeOptions.defaults()))) {
                StableDiffusionPipeline otherPipeline = new StableDiffusionPipeline(other);
                for (String scheduler : List.of("ddim", "euler", "dpmpp_2m", "unipc", "pndm", "heun")) {
                    GenerationRequest request = GenerationRequest.builder(PROMPT).size(64, 64).steps(20)
                            .guidanceScale(1).scheduler(scheduler).seed(7L).build();
                    byte[] actual = Pictures.rgbOf(otherPipeline.generate(request, s -> { }, () -> false)
                            .images().get(0).png());
                    double psnr = Pictures.psnr(expected(toy, model.tokenizer(), PROMPT, "", 1.0, 64, 64), actual);
                    System.out.printf("toy %s %s: PSNR %.1f dB%n", variant.getFileName(), scheduler, psnr);
                    assertTrue(psnr >= MIN_PSNR, variant.getFileName() + " " + scheduler + " PSNR " + psnr);
                }
            }
        }
    }

    @Test
    void toyKeywordsAreSingleTokens() {
        assertTrue(toy.keywordCount() >= 20, "keywords found in the vocabulary: " + toy.keywordCount());
        assertTrue(Files.isRegularFile(folder.resolve("toy/unet/model.onnx_data")), "UNet weights are external");
    }
}
