package dev.easel.engine.pipeline;

/** A request made ready by one {@link Pipeline}, which alone runs it. */
public sealed interface JobPlan permits GenerationPlan, UpscalePlan, Sd3Plan {
    /** The request with the model's defaults filled in. */
    GenerationRequest request();

    /** The seed of the first image (image i uses seed + i). */
    long seed();

    /** The progress events each image reports: denoising steps, or an upscaler's tiles. */
    int stepsPerImage();
}
