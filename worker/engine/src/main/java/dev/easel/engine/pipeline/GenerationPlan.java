package dev.easel.engine.pipeline;

import dev.easel.engine.adapter.Embedding;
import dev.easel.engine.adapter.ModelAdapters;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.image.TileGrid;
import dev.easel.engine.prompt.TriggerWords;
import dev.easel.engine.scheduler.Scheduler;
import java.util.List;

/**
 * A request made ready for one model, once: validated at the model's size, its scheduler built, its seed drawn, its
 * init image and mask decoded. {@link StableDiffusionPipeline#plan} makes it, {@link StableDiffusionPipeline#generate}
 * runs it; a plan runs once (its scheduler keeps state).
 */
public final class GenerationPlan implements JobPlan {
    private final GenerationRequest request;
    private final String schedulerName;
    private final Scheduler scheduler;
    private final int startIndex;
    private final long seed;
    private final RgbImage initImage;
    private final InpaintMask mask;
    private final Adapters adapters;
    private final SecondPass secondPass;
    private final int latentFactor;
    private final TileGrid latentTiles;

    /**
     * The hires fix's second pass: the enlarged size, its own scheduler (a new one of the same class, its steps set)
     * and where in that schedule denoising starts.
     */
    record SecondPass(int width, int height, Scheduler scheduler, int startIndex) {
        int steps() {
            return scheduler.timesteps().length - startIndex;
        }
    }

    /**
     * The prompt's LoRAs and embeddings: the prompt text without its tags, the LoRAs resolved with their multipliers,
     * the embeddings its prompts use, and the trigger words per text encoder.
     */
    record Adapters(String promptText, List<ModelAdapters.WeightedLora> loras, List<Embedding> embeddings,
            List<TriggerWords> words) {
        boolean any() {
            return !loras.isEmpty() || !embeddings.isEmpty();
        }
    }

    GenerationPlan(GenerationRequest request, String schedulerName, Scheduler scheduler, int startIndex, long seed,
            RgbImage initImage, InpaintMask mask, Adapters adapters, SecondPass secondPass, int latentFactor,
            TileGrid latentTiles) {
        this.request = request;
        this.schedulerName = schedulerName;
        this.scheduler = scheduler;
        this.startIndex = startIndex;
        this.seed = seed;
        this.initImage = initImage;
        this.mask = mask;
        this.adapters = adapters;
        this.secondPass = secondPass;
        this.latentFactor = latentFactor;
        this.latentTiles = latentTiles;
    }

    /** The windows the first pass denoises and decodes in: one covering everything unless the model upscales. */
    TileGrid latentTiles() {
        return latentTiles;
    }

    /** How many tiles the job is worked in (1: whole). */
    public int tiles() {
        return latentTiles.tiles().size();
    }

    /** Pixels per latent along each side (the model's VAE factor). */
    int latentFactor() {
        return latentFactor;
    }

    /** The hires fix's second pass, or null for a job of one pass. */
    SecondPass secondPass() {
        return secondPass;
    }

    Adapters adapters() {
        return adapters;
    }

    /** The request with the model's size filled in. */
    @Override
    public GenerationRequest request() {
        return request;
    }

    public String schedulerName() {
        return schedulerName;
    }

    /** The seed of the first image (image i uses seed + i). */
    @Override
    public long seed() {
        return seed;
    }

    /** How many denoising steps (model evaluations) each image takes: what progress reports as {@code total}. */
    @Override
    public int stepsPerImage() {
        return firstPassSteps() + (secondPass == null ? 0 : secondPass.steps());
    }

    /** The steps of the first (or only) pass. */
    int firstPassSteps() {
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
