package dev.easel.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.engine.SharedData;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.noise.NoiseSource;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The x4 upscaler on a picture larger than one tile ({@code ../shared/parity/upscale/}'s tiny model): worked in
 * overlapping tiles, the result stays close to the picture enlarged whole. The tolerance is what docs/engine.md states.
 */
class UpscaleTilingTest {
    /**
     * Mean difference per channel, in grey levels, between the tiled and the whole result. A tile's UNet normalises
     * (GroupNorm) and attends over its own window, not the picture, so tiles never reproduce the whole run; the tiny
     * model's random weights magnify that (measured: 10.7 with 32-pixel tiles, 2.5 with 56-pixel ones).
     */
    static final double MEAN_TOLERANCE = 12.0;
    /** The tiled result is the same picture: far closer to the whole run than the whole run of another seed is. */
    static final double SHARE_OF_ANOTHER_SEED = 0.4;

    @Test
    void aTiledPictureStaysCloseToTheWholeOne() throws Exception {
        Optional<Path> cases = SharedData.file("parity/upscale/cases.json");
        Assumptions.assumeTrue(cases.isPresent(), "SKIPPED upscale tiling: ../shared/parity/upscale not found");
        Path family = cases.get().getParent();
        // 64 x 48, larger than the 32-pixel tiles in both directions (a 2 x 3 grid), smaller than the default tile.
        RgbImage low = RgbImage.decode(Files.readAllBytes(family.resolve("inputs/lowres-24x16.png"))).resized(64, 48);
        GenerationRequest request = request(low, 5L);

        GenerationResult whole = upscale(family, RuntimeOptions.defaults(), request);
        GenerationResult tiled = upscale(family, RuntimeOptions.defaults().withUpscaleTile(32), request);

        assertEquals(8, whole.timings().unetCalls(), "one call a step (both guidance rows batched), whole");
        assertEquals(8 * 6, tiled.timings().unetCalls(), "one call a step for each of the 6 tiles");
        byte[] a = Pictures.rgbOf(whole.images().get(0).png());
        byte[] b = Pictures.rgbOf(tiled.images().get(0).png());
        assertEquals(256 * 192 * 3, b.length, "4 times the picture in each direction");
        double mean = meanDifference(a, b);
        byte[] otherSeed = Pictures.rgbOf(upscale(family, RuntimeOptions.defaults(), request(low, 6L)).images().get(0).png());
        double seedMean = meanDifference(a, otherSeed);
        System.out.printf("upscale tiling: tiled vs whole, mean %.2f, largest %d grey levels; another seed's whole"
                + " picture, mean %.2f%n", mean, Pictures.maxDifference(a, b), seedMean);
        assertTrue(mean <= MEAN_TOLERANCE, "mean difference " + mean);
        assertTrue(mean <= SHARE_OF_ANOTHER_SEED * seedMean, "tiled " + mean + " vs another seed " + seedMean);
        assertTrue(mean > 0, "the tiled run really was tiled (the tiles' contexts differ)");
    }

    private static GenerationRequest request(RgbImage low, long seed) {
        return GenerationRequest.builder("a red fox in the snow, watercolor").initImage(low.toPng(null, null), 1.0)
                .noiseLevel(40).steps(8).guidanceScale(7.5).seed(seed).noise(NoiseSource.Kind.TORCH).build();
    }

    private static double meanDifference(byte[] a, byte[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += Math.abs((a[i] & 0xff) - (b[i] & 0xff));
        }
        return sum / a.length;
    }

    private static GenerationResult upscale(Path family, RuntimeOptions options, GenerationRequest request)
            throws Exception {
        try (ModelFolder model = ModelFolder.load(family.resolve("model-upscaler"), new OrtRuntime(options))) {
            return new StableDiffusionPipeline(model).generate(request, step -> { }, () -> false);
        }
    }
}
