package dev.easel.engine.pipeline;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.easel.contracts.FieldError;
import dev.easel.engine.image.LatentPreview;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.TextEncoder;
import dev.easel.engine.model.Unet;
import dev.easel.engine.noise.NoiseSource;
import dev.easel.engine.scheduler.Scheduler;
import dev.easel.engine.scheduler.Schedulers;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Stable Diffusion text-to-image and image-to-image over a loaded {@link ModelFolder}: CLIP tokenizer and text encoder,
 * then the UNet in a loop driven by a scheduler with classifier-free guidance (unconditional and conditional in one
 * batched call), then the VAE decoder. The pipeline knows components only by their interfaces. One job runs at a time.
 */
public final class StableDiffusionPipeline {
    private static final SecureRandom SEEDS = new SecureRandom();

    private final ModelFolder model;
    private final LatentPreview preview;

    public StableDiffusionPipeline(ModelFolder model) {
        this.model = model;
        this.preview = new LatentPreview(model.latentRgbFactors());
    }

    public ModelFolder model() {
        return model;
    }

    /** A fresh random seed in [0, 2^32), the range other Stable Diffusion tools use. */
    public static long randomSeed() {
        return SEEDS.nextLong() & 0xffffffffL;
    }

    /**
     * Runs a job. {@code progress} hears every denoising step; {@code cancelled} is asked before each step and stops
     * the job with {@link CancelledException}. Invalid requests fail with {@link InvalidRequestException} before any
     * work is done.
     */
    public synchronized GenerationResult generate(GenerationRequest request, Consumer<StepProgress> progress,
            BooleanSupplier cancelled) throws OrtException {
        request = request.withDefaultSide(model.defaultSide());
        List<FieldError> errors = request.validate();
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
        String schedulerName = request.scheduler() != null
                ? request.scheduler() : Schedulers.defaultFor(model.schedulerConfig());
        Scheduler scheduler = createScheduler(request, schedulerName);
        RgbImage initImage = request.isImageToImage() ? decodeInitImage(request) : null;
        long seed = request.seed() != null ? request.seed() : randomSeed();

        long jobStart = System.nanoTime();
        model.resetRunNanos();
        OrtEnvironment environment = model.runtime().environment();
        int latentHeight = request.height() / 8;
        int latentWidth = request.width() / 8;
        // An LCM-distilled UNet takes the guidance scale as an embedding instead of a second, unconditional pass.
        boolean embedsGuidance = model.unet().guidanceEmbeddingWidth() > 0;
        boolean guided = !embedsGuidance && request.guidanceScale() > 1.0;

        long phaseStart = System.nanoTime();
        List<TextEncoder.HiddenStates> hidden = new ArrayList<>();
        TextEncoder.HiddenStates conditional = encodePrompt(environment, "prompt", request.prompt(), request);
        if (guided) {
            // SDXL's force_zeros_for_empty_prompt: no negative prompt means zero conditioning, not the encoded "".
            hidden.add(request.negativePrompt().isEmpty() && model.forceZerosForEmptyPrompt() ? conditional.zeros()
                    : encodePrompt(environment, "negativePrompt", request.negativePrompt(), request));
        }
        hidden.add(conditional);
        float[] initLatents = initImage == null ? null : encodeInitImage(environment, initImage);
        Unet unetModel = model.unet();
        InpaintMask mask = null;
        if (request.isInpainting()) {
            mask = decodeMask(request);
        } else if (unetModel.isInpainting()) {
            mask = InpaintMask.everywhere(request.width(), request.height());
        }
        float[] latentMask = mask == null ? null : mask.latent();
        float[] maskedImageLatents = null;
        if (unetModel.isInpainting()) {
            float[] picture = initImage != null ? initImage.normalised()
                    : new float[3 * request.width() * request.height()];
            maskedImageLatents = scaled(model.vaeEncoder().encode(environment, mask.maskedPicture(picture),
                    request.width(), request.height()));
        }
        // A 4-channel UNet inpaints by putting the (noised) init latents back outside the mask after every step.
        boolean blend = mask != null && !unetModel.isInpainting();
        // Inpainting at full strength starts from pure noise, as diffusers does, not from the noised init latents.
        boolean pureNoise = initLatents == null || (mask != null && request.strength() >= 1.0);
        double textMillis = millisSince(phaseStart);

        int startIndex = initImage == null ? 0 : startIndex(request, scheduler);
        List<GenerationResult.GeneratedImage> images = new ArrayList<>();
        double denoiseMillis = 0;
        double decodeMillis = 0;
        int plane = 4 * latentHeight * latentWidth;
        int latentPlane = latentHeight * latentWidth;
        int batchImages = Math.min(request.numImages(), model.runtime().maxBatchImages());
        Unet.Session unet = null;
        int sessionImages = 0;
        int unetCalls = 0;
        try {
            for (int firstImage = 0; firstImage < request.numImages(); firstImage += batchImages) {
                int count = Math.min(batchImages, request.numImages() - firstImage);
                if (count != sessionImages) {
                    // At most two sessions per job: the full batches, then the rest.
                    if (unet != null) {
                        unet.close();
                    }
                    unet = openUnet(environment, request, hidden, count, latentMask, maskedImageLatents);
                    sessionImages = count;
                }
                phaseStart = System.nanoTime();
                int size = count * plane;
                List<NoiseSource> sources = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    sources.add(request.noise().create(seed + firstImage + i));
                }
                NoiseSource noise = NoiseSource.perImage(sources);
                scheduler.setTimesteps(request.steps());
                double[] timesteps = scheduler.timesteps();
                double[] sigmas = scheduler.sigmas();
                float[] latents = new float[size];
                float[] initialNoise = new float[size];
                noise.fill(initialNoise);
                float[] init = initLatents == null ? null : repeated(initLatents, count);
                if (pureNoise) {
                    float scale = (float) scheduler.initNoiseSigma();
                    for (int i = 0; i < size; i++) {
                        latents[i] = initialNoise[i] * scale;
                    }
                } else {
                    System.arraycopy(init, 0, latents, 0, size);
                    scheduler.addNoise(latents, initialNoise, startIndex);
                }
                float[][] predictions = new float[hidden.size() * count][plane];
                float[] output = new float[size];
                int total = timesteps.length - startIndex;
                for (int k = startIndex; k < timesteps.length; k++) {
                    if (cancelled.getAsBoolean()) {
                        throw new CancelledException(k - startIndex);
                    }
                    unet.predict(latents, (float) scheduler.modelInputScale(k), timesteps[k], predictions);
                    unetCalls += unet.callsPerEvaluation();
                    float guidance = (float) request.guidanceScale();
                    for (int i = 0; i < count; i++) {
                        float[] conditioned = predictions[(hidden.size() - 1) * count + i];
                        if (guided) {
                            float[] unconditional = predictions[i];
                            for (int j = 0; j < plane; j++) {
                                output[i * plane + j] = unconditional[j]
                                        + guidance * (conditioned[j] - unconditional[j]);
                            }
                        } else {
                            System.arraycopy(conditioned, 0, output, i * plane, plane);
                        }
                    }
                    scheduler.step(output, k, latents, noise);
                    if (blend) {
                        float[] kept = init.clone();
                        if (k + 1 < timesteps.length) {
                            scheduler.addNoise(kept, initialNoise, k + 1);
                        }
                        for (int i = 0; i < size; i++) {
                            float repaint = latentMask[i % latentPlane];
                            latents[i] = (1 - repaint) * kept[i] + repaint * latents[i];
                        }
                    }
                    int step = k - startIndex + 1;
                    boolean previewDue = request.previewEvery() > 0
                            && (step % request.previewEvery() == 0 || step == total);
                    for (int i = 0; i < count; i++) {
                        byte[] previewPng = previewDue ? previewOf(scheduler, k, timesteps.length,
                                java.util.Arrays.copyOfRange(latents, i * plane, (i + 1) * plane), latentHeight,
                                latentWidth) : null;
                        progress.accept(new StepProgress(firstImage + i, step, total, timesteps[k],
                                sigmas == null ? Double.NaN : sigmas[k], (long) millisSince(jobStart), previewPng));
                    }
                }
                denoiseMillis += millisSince(phaseStart);

                phaseStart = System.nanoTime();
                for (int i = 0; i < count; i++) {
                    int index = firstImage + i;
                    long imageSeed = seed + index;
                    RgbImage picture = model.vaeDecoder().decode(environment,
                            java.util.Arrays.copyOfRange(latents, i * plane, (i + 1) * plane), latentHeight,
                            latentWidth, model.scalingFactor());
                    String infotext = Infotext.of(request, schedulerName, imageSeed, model.name());
                    images.add(new GenerationResult.GeneratedImage(index, imageSeed, picture.width(),
                            picture.height(), picture.toPng("parameters", infotext), infotext));
                }
                decodeMillis += millisSince(phaseStart);
            }
        } finally {
            if (unet != null) {
                unet.close();
            }
        }
        GenerationResult.Timings timings = new GenerationResult.Timings(textMillis, denoiseMillis, decodeMillis,
                millisSince(jobStart), model.runNanos() / 1e6, unetCalls);
        return new GenerationResult(images, seed, schedulerName, model.runtime().provider(), timings);
    }

    /**
     * How many denoising steps (model evaluations) each image of {@code request} takes: what progress reports as
     * {@code total}. Invalid requests fail as {@link #generate} would.
     */
    public int stepsPerImage(GenerationRequest request) {
        request = request.withDefaultSide(model.defaultSide());
        List<FieldError> errors = request.validate();
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
        String name = request.scheduler() != null ? request.scheduler() : Schedulers.defaultFor(model.schedulerConfig());
        Scheduler scheduler = createScheduler(request, name);
        int start = request.isImageToImage() ? startIndex(request, scheduler) : 0;
        return scheduler.timesteps().length - start;
    }

    private Scheduler createScheduler(GenerationRequest request, String name) {
        Scheduler scheduler;
        try {
            scheduler = Schedulers.create(name, model.schedulerConfig(), request.karras(), request.timestepSpacing());
        } catch (IllegalArgumentException e) {
            String field = request.timestepSpacing() != null && e.getMessage().contains("spacing")
                    ? "timestepSpacing" : "scheduler";
            throw new InvalidRequestException(field, e.getMessage());
        }
        try {
            scheduler.setTimesteps(request.steps());
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("steps", e.getMessage());
        }
        return scheduler;
    }

    private static RgbImage decodeInitImage(GenerationRequest request) {
        try {
            return RgbImage.decode(request.initImage()).resized(request.width(), request.height());
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("initImage", e.getMessage());
        }
    }

    /** A UNet session for {@code images} images at a time, with the job's fixed extra inputs set. */
    private Unet.Session openUnet(OrtEnvironment environment, GenerationRequest request,
            List<TextEncoder.HiddenStates> hidden, int images, float[] latentMask, float[] maskedImageLatents)
            throws OrtException {
        Unet.Session unet = model.unet().open(environment, request.height() / 8, request.width() / 8, hidden, images);
        if (maskedImageLatents != null) {
            unet.setInpaintConditioning(latentMask, maskedImageLatents);
        }
        if (model.unet().guidanceEmbeddingWidth() > 0) {
            unet.setGuidanceEmbedding(GuidanceEmbedding.of(request.guidanceScale(),
                    model.unet().guidanceEmbeddingWidth()));
        }
        if (model.unet().takesAddedConditioning()) {
            // SDXL's micro-conditioning at diffusers' defaults: original size = target size, no crop.
            float h = request.height();
            float w = request.width();
            unet.setTimeIds(new float[] {h, w, 0, 0, h, w});
        }
        return unet;
    }

    private static float[] repeated(float[] values, int times) {
        float[] out = new float[values.length * times];
        for (int i = 0; i < times; i++) {
            System.arraycopy(values, 0, out, i * values.length, values.length);
        }
        return out;
    }

    private static InpaintMask decodeMask(GenerationRequest request) {
        try {
            return InpaintMask.decode(request.mask(), request.width(), request.height());
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("mask", e.getMessage());
        }
    }

    private TextEncoder.HiddenStates encodePrompt(OrtEnvironment environment, String field, String text,
            GenerationRequest request) throws OrtException {
        TextEncoder.HiddenStates states = model.promptEncoder().encode(environment, text, request.promptSyntax());
        if (!model.unet().acceptsSequence(states.sequence())) {
            throw new InvalidRequestException(field, "needs " + states.sequence() / model.tokenizer().maxLength()
                    + " chunks of 75 tokens, and this model's UNet takes only one: shorten it, or send promptSyntax"
                    + " plain to truncate it");
        }
        return states;
    }

    private float[] encodeInitImage(OrtEnvironment environment, RgbImage image) throws OrtException {
        return scaled(model.vaeEncoder().encode(environment, image));
    }

    private float[] scaled(float[] latents) {
        for (int i = 0; i < latents.length; i++) {
            latents[i] *= model.scalingFactor();
        }
        return latents;
    }

    /** Where image-to-image enters the schedule: diffusers' get_timesteps (steps x strength steps are run). */
    private static int startIndex(GenerationRequest request, Scheduler scheduler) {
        int steps = request.steps();
        int initSteps = Math.min((int) (steps * request.strength()), steps);
        int start = Math.max(steps - initSteps, 0);
        return start * scheduler.order();
    }

    private byte[] previewOf(Scheduler scheduler, int k, int count, float[] latents, int height, int width) {
        // Scaled to model-input space so that the preview's brightness does not swing with sigma.
        float scale = k + 1 < count ? (float) scheduler.modelInputScale(k + 1) : 1f;
        float[] scaled = new float[latents.length];
        for (int i = 0; i < latents.length; i++) {
            scaled[i] = latents[i] * scale;
        }
        return preview.render(scaled, height, width).toPng(null, null);
    }

    private static double millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e6;
    }
}
