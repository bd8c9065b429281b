package dev.easel.engine.pipeline;

import dev.easel.engine.image.RgbImage;
import dev.easel.engine.scheduler.Scheduler;

/**
 * A request made ready for one model, once: validated at the model's size, its scheduler built, its seed drawn, its
 * init image and mask decoded. {@link StableDiffusionPipeline#plan} makes it, {@link StableDiffusionPipeline#generate}
 * runs it; a plan runs once (its scheduler keeps state).
 */
public final class GenerationPlan {
    private final GenerationRequest request;
    private final String schedulerName;
    private final Scheduler scheduler;
    private final int startIndex;
    private final long seed;
    private final RgbImage initImage;
    private final InpaintMask mask;

    GenerationPlan(GenerationRequest request, String schedulerName, Scheduler scheduler, int startIndex, long seed,
            RgbImage initImage, InpaintMask mask) {
        this.request = request;
        this.schedulerName = schedulerName;
        this.scheduler = scheduler;
        this.startIndex = startIndex;
        this.seed = seed;
        this.initImage = initImage;
        this.mask = mask;
    }

    /** The request with the model's size filled in. */
    public GenerationRequest request() {
        return request;
    }

    public String schedulerName() {
        return schedulerName;
    }

    /** The seed of the first image (image i uses seed + i). */
    public long seed() {
        return seed;
    }

    /** How many denoising steps (model evaluations) each image takes: what progress reports as {@code total}. */
    public int stepsPerImage() {
        return scheduler.timesteps().length - startIndex;
    }

    Scheduler scheduler() {
        return scheduler;
    }

    /** The schedule's index where denoising starts: 0, or later for image-to-image (diffusers' get_timesteps). */
    int startIndex() {
        return startIndex;
    }

    /** The init image at the output size, or null for text-to-image. */
    RgbImage initImage() {
        return initImage;
    }

    /** Where inpainting repaints, or null. */
    InpaintMask mask() {
        return mask;
    }
}
