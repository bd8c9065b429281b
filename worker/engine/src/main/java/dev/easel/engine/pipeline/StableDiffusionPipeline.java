package dev.easel.engine.pipeline;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.easel.contracts.FieldError;
import dev.easel.contracts.JobRequest;
import dev.easel.engine.image.LatentPreview;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.image.TileGrid;
import dev.easel.engine.model.VaeDecoder;
import dev.easel.engine.model.ImageUpscaler;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.TextEncoder;
import dev.easel.engine.model.Unet;
import dev.easel.engine.noise.NoiseSource;
import dev.easel.contracts.PromptTags;
import dev.easel.contracts.RequestLimits;
import dev.easel.engine.adapter.AdapterLibrary;
import dev.easel.engine.adapter.Embedding;
import dev.easel.engine.adapter.ModelAdapters;
import dev.easel.engine.prompt.PromptChunker;
import dev.easel.engine.prompt.PromptEncoder;
import dev.easel.engine.prompt.TriggerWords;
import dev.easel.engine.scheduler.Scheduler;
import dev.easel.engine.scheduler.Schedulers;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Stable Diffusion text-to-image and image-to-image over a loaded {@link ModelFolder}: CLIP tokenizer and text encoder,
 * then the UNet in a loop driven by a scheduler with classifier-free guidance (unconditional and conditional in one
 * batched call), then the VAE decoder. The pipeline knows components only by their interfaces. One job runs at a time.
 */
public final class StableDiffusionPipeline implements Pipeline {
    private static final SecureRandom SEEDS = new SecureRandom();

    private final ModelFolder model;
    private final LatentPreview preview;
    private final PromptEncoder promptEncoder;
    private final ModelAdapters adapters;
    private final Map<String, ImageUpscaler> upscalers;

    /** A pipeline with no LoRAs, embeddings or image upscalers to offer. */
    public StableDiffusionPipeline(ModelFolder model) {
        this(model, AdapterLibrary.empty(), Map.of());
    }

    /**
     * A pipeline offering the LoRAs and embeddings of {@code library}, and {@code upscalers} (by id) to its hires fix.
     */
    public StableDiffusionPipeline(ModelFolder model, AdapterLibrary library, Map<String, ImageUpscaler> upscalers) {
        this.model = model;
        this.preview = new LatentPreview(model.latentRgbFactors());
        this.promptEncoder = PromptEncoder.of(model);
        this.adapters = new ModelAdapters(model, library);
        this.upscalers = Map.copyOf(upscalers);
    }

    @Override
    public String modelName() {
        return model.name();
    }

    @Override
    public ModelKind kind() {
        return model.isUpscaler() ? ModelKind.DIFFUSION_UPSCALER : ModelKind.GENERATOR;
    }

    @Override
    public List<String> schedulers() {
        return Schedulers.NAMES;
    }

    @Override
    public String provider() {
        return model.runtime().provider();
    }

    @Override
    public void close() {
        try {
            model.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing " + model.name() + ": " + e.getMessage(), e);
        }
    }

    /**
     * A small job that runs every component a job of this model runs (sessions warmed before the first real job): a
     * 64 x 64 text-to-image picture, or for the x4 upscaler a 16 x 16 picture enlarged.
     */
    @Override
    public GenerationRequest warmUpRequest() {
        GenerationRequest.Builder request = GenerationRequest.builder("warm-up").steps(1).guidanceScale(2).seed(0L);
        if (model.isUpscaler()) {
            return request.initImage(new RgbImage(16, 16, new byte[16 * 16 * 3]).toPng(null, null), 1.0).build();
        }
        return request.size(64, 64).build();
    }

    /** The LoRAs and embeddings this pipeline offers. */
    public AdapterLibrary adapterLibrary() {
        return adapters.library();
    }

    public ModelFolder model() {
        return model;
    }

    /** A fresh random seed in [0, 2^32), the range other Stable Diffusion tools use. */
    public static long randomSeed() {
        return SEEDS.nextLong() & 0xffffffffL;
    }

    /**
     * Makes {@code request} ready for this model: the model's size where the request names none, every field checked
     * ({@link InvalidRequestException} before any work), the scheduler built, the seed drawn, images decoded.
     */
    @Override
    public GenerationPlan plan(GenerationRequest request) {
        // The init image is decoded once: first for the upscaler, whose output size is the picture's times its VAE's
        // factor; after the checks for everything else.
        RgbImage picture = null;
        if (model.isUpscaler()) {
            picture = request.isImageToImage() ? decodePicture(request) : null;
            request = upscaleSize(request, picture);
        } else {
            request = request.withDefaultSide(model.defaultSide());
        }
        List<FieldError> errors = request.validate();
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
        String schedulerName = request.scheduler() != null
                ? request.scheduler() : Schedulers.defaultFor(model.schedulerConfig());
        Scheduler scheduler = createScheduler(request, schedulerName, request.steps());
        int startIndex = request.isImageToImage() && !model.isUpscaler()
                ? startIndex(request.steps(), request.strength(), scheduler) : 0;
        // The upscaler takes the picture as it is; image-to-image at the output size (Pillow's Lanczos).
        if (picture == null && request.isImageToImage()) {
            picture = decodePicture(request);
        }
        RgbImage initImage = picture == null || model.isUpscaler() ? picture
                : picture.resized(request.width(), request.height());
        InpaintMask mask = null;
        if (request.isInpainting()) {
            mask = decodeMask(request);
        } else if (model.unet().isInpainting()) {
            mask = InpaintMask.everywhere(request.width(), request.height());
        }
        long seed = request.seed() != null ? request.seed() : randomSeed();
        GenerationPlan.SecondPass second = null;
        if (request.hires() != null) {
            GenerationRequest.Hires hires = request.hires();
            if (!JobRequest.Hires.UPSCALERS.contains(hires.upscaler()) && !upscalers.containsKey(hires.upscaler())) {
                List<String> known = new ArrayList<>(JobRequest.Hires.UPSCALERS);
                known.addAll(new java.util.TreeSet<>(upscalers.keySet()));
                throw new InvalidRequestException("hires.upscaler", "'" + hires.upscaler() + "' is not an upscaler"
                        + " this worker has; it has " + String.join(", ", known));
            }
            // A new scheduler of the same class from the same config: nothing carried over from the first pass.
            Scheduler hiresScheduler = createScheduler(request, schedulerName, hires.steps());
            second = new GenerationPlan.SecondPass(hires.scaled(request.width()), hires.scaled(request.height()),
                    hiresScheduler, startIndex(hires.steps(), hires.denoise(), hiresScheduler));
        }
        int latentHeight = request.height() / model.latentFactor();
        int latentWidth = request.width() / model.latentFactor();
        // Only the upscaler, whose input can be any size, works in tiles; its latents are the picture's pixels.
        TileGrid tiles = model.isUpscaler()
                ? TileGrid.of(latentHeight, latentWidth, model.runtime().options().upscaleTile(),
                        model.runtime().options().upscaleTileOverlap())
                : TileGrid.of(latentHeight, latentWidth, Math.max(latentHeight, latentWidth), 0);
        return new GenerationPlan(request, schedulerName, scheduler, startIndex, seed, initImage, mask,
                planAdapters(request), second, model.latentFactor(), tiles);
    }

    /**
     * The prompt's tags removed and its LoRAs resolved in the library (with the request's own), the embeddings the
     * prompts use, and each prompt's chunks within {@link RequestLimits#MAX_PROMPT_CHUNKS}.
     */
    private GenerationPlan.Adapters planAdapters(GenerationRequest request) {
        PromptTags.Parsed tags;
        try {
            tags = PromptTags.parse(request.prompt());
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("prompt", e.getMessage());
        }
        List<PromptTags.LoraWeight> wanted = new ArrayList<>(tags.loras());
        wanted.addAll(request.loras());
        if (wanted.size() > RequestLimits.MAX_LORAS) {
            throw new InvalidRequestException("loras", "asks for " + wanted.size() + " LoRAs; at most "
                    + RequestLimits.MAX_LORAS);
        }
        AdapterLibrary library = adapters.library();
        List<ModelAdapters.WeightedLora> loras = new ArrayList<>();
        for (PromptTags.LoraWeight lora : wanted) {
            try {
                loras.add(new ModelAdapters.WeightedLora(library.lora(lora.name()), lora.weight()));
            } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
                throw new InvalidRequestException("loras", e.getMessage());
            }
        }
        for (String word : library.unreadableEmbeddingWords()) {
            java.util.regex.Pattern used = java.util.regex.Pattern.compile("(?i)(?<![\\p{L}\\p{N}_])"
                    + java.util.regex.Pattern.quote(word) + "(?![\\p{L}\\p{N}_])");
            if (used.matcher(tags.text()).find() || used.matcher(request.negativePrompt()).find()) {
                throw new InvalidRequestException("prompt", "the embedding " + word + " is a pickled .pt/.bin file,"
                        + " which Easel does not load: convert it to .safetensors (emb_params) and put it in "
                        + library.embeddingsDir());
            }
        }
        List<TriggerWords> words;
        try {
            words = library.embeddingWords().isEmpty()
                    ? java.util.Collections.nCopies(model.textEncoders().size(), TriggerWords.none())
                    : adapters.triggerWords();
        } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
            throw new InvalidRequestException("prompt", e.getMessage());
        }
        java.util.Set<String> usedWords = new java.util.TreeSet<>();
        for (String[] text : new String[][] {{"prompt", tags.text()}, {"negativePrompt", request.negativePrompt()}}) {
            PromptChunker.Chunks chunks = promptEncoder.chunks(0, text[1], request.promptSyntax(), words.get(0));
            if (chunks.chunks().size() > RequestLimits.MAX_PROMPT_CHUNKS) {
                throw new InvalidRequestException(text[0], "takes " + chunks.chunks().size() + " chunks of 75 tokens;"
                        + " at most " + RequestLimits.MAX_PROMPT_CHUNKS + ": shorten it");
            }
            usedWords.addAll(chunks.embeddings());
        }
        List<Embedding> embeddings = library.embeddings().stream().filter(e -> usedWords.contains(e.word())).toList();
        return new GenerationPlan.Adapters(tags.text(), List.copyOf(loras), embeddings, words);
    }

    /**
     * Runs a planned job as diffusers' pipelines do: encode the prompts, prepare the image conditioning (init latents,
     * mask), then per batch of images prepare the latents, denoise them and decode them. {@code progress} hears every
     * denoising step; {@code cancelled} is asked before each step and stops the job with {@link CancelledException}.
     */
    @Override
    public synchronized GenerationResult generate(JobPlan planned, Consumer<StepProgress> progress,
            BooleanSupplier cancelled) throws OrtException {
        if (!(planned instanceof GenerationPlan plan)) {
            throw new IllegalArgumentException("a plan made by another pipeline");
        }
        long jobStart = System.nanoTime();
        model.resetRunNanos();
        try {
            return run(plan, progress, cancelled, jobStart);
        } finally {
            if (plan.adapters().any()) {
                adapters.release();
            }
        }
    }

    private GenerationResult run(GenerationPlan plan, Consumer<StepProgress> progress, BooleanSupplier cancelled,
            long jobStart) throws OrtException {
        GenerationRequest request = plan.request();
        long phaseStart = System.nanoTime();
        Conditioning conditioning = encodePrompts(plan);
        ImageConditioning image = prepareImage(plan);
        double textMillis = millisSince(phaseStart);

        List<GenerationResult.GeneratedImage> images = new ArrayList<>();
        double denoiseMillis = 0;
        double decodeMillis = 0;
        int batchImages = Math.min(request.numImages(), model.runtime().maxBatchImages());
        Unet.Session unet = null;
        int sessionImages = 0;
        Unet.Session hiresUnet = null;
        int hiresImages = 0;
        int unetCalls = 0;
        try {
            for (int firstImage = 0; firstImage < request.numImages(); firstImage += batchImages) {
                int count = Math.min(batchImages, request.numImages() - firstImage);
                if (count != sessionImages) {
                    // At most two sessions per job: the full batches, then the rest.
                    if (unet != null) {
                        unet.close();
                    }
                    unet = openUnet(request, conditioning, image, count, Pass.first(plan));
                    sessionImages = count;
                }
                phaseStart = System.nanoTime();
                Batch batch = prepareLatents(plan, image, firstImage, count);
                Pass pass = Pass.first(plan);
                unetCalls += denoise(plan, pass, unet, conditioning, image, batch, progress, cancelled, jobStart);
                denoiseMillis += millisSince(phaseStart);
                if (plan.secondPass() != null) {
                    phaseStart = System.nanoTime();
                    batch = upscale(plan, batch);
                    pass = Pass.second(plan);
                    if (hiresUnet == null || hiresImages != count) {
                        if (hiresUnet != null) {
                            hiresUnet.close();
                        }
                        hiresUnet = openUnet(request, conditioning, ImageConditioning.NONE, count, pass);
                        hiresImages = count;
                    }
                    unetCalls += denoise(plan, pass, hiresUnet, conditioning, ImageConditioning.NONE, batch, progress,
                            cancelled, jobStart);
                    denoiseMillis += millisSince(phaseStart);
                }

                phaseStart = System.nanoTime();
                images.addAll(decode(plan, pass, batch));
                decodeMillis += millisSince(phaseStart);
            }
        } finally {
            if (unet != null) {
                unet.close();
            }
            if (hiresUnet != null) {
                hiresUnet.close();
            }
        }
        GenerationResult.Timings timings = new GenerationResult.Timings(textMillis, denoiseMillis, decodeMillis,
                millisSince(jobStart), model.runNanos() / 1e6, unetCalls);
        return new GenerationResult(images, plan.seed(), plan.schedulerName(), model.runtime().provider(), timings);
    }

    /**
     * The UNet's text conditioning: the negative prompt's hidden states (when guidance runs an unconditional pass),
     * then the prompt's.
     */
    private record Conditioning(List<TextEncoder.HiddenStates> hidden, boolean guided) {
        TextEncoder.HiddenStates conditional() {
            return hidden.get(hidden.size() - 1);
        }
    }

    /** Step 1: the job's LoRAs and embeddings patched in, then the prompts through the text encoders. */
    private Conditioning encodePrompts(GenerationPlan plan) throws OrtException {
        GenerationRequest request = plan.request();
        GenerationPlan.Adapters adapted = plan.adapters();
        if (adapted.any()) {
            try {
                adapters.apply(adapted.loras(), adapted.embeddings());
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException("loras", e.getMessage());
            }
        }
        OrtEnvironment environment = model.runtime().environment();
        // An LCM-distilled UNet takes the guidance scale as an embedding instead of a second, unconditional pass.
        boolean guided = model.unet().guidanceEmbeddingWidth() == 0 && request.guidanceScale() > 1.0;
        List<TextEncoder.HiddenStates> hidden = new ArrayList<>();
        TextEncoder.HiddenStates conditional = encodePrompt(environment, "prompt", adapted.promptText(), plan);
        if (guided) {
            // SDXL's force_zeros_for_empty_prompt: no negative prompt means zero conditioning, not the encoded "".
            hidden.add(request.negativePrompt().isEmpty() && model.forceZerosForEmptyPrompt() ? conditional.zeros()
                    : encodePrompt(environment, "negativePrompt", request.negativePrompt(), plan));
        }
        hidden.add(conditional);
        return new Conditioning(hidden, guided);
    }

    /**
     * What the picture contributes: the init image's latents (image-to-image), the latent mask and, for an inpainting
     * UNet, the masked picture's latents. {@code blend}: a 4-channel UNet inpaints by putting the (noised) init latents
     * back outside the mask after every step.
     */
    private record ImageConditioning(float[] initLatents, float[] latentMask, float[] maskedImageLatents,
            boolean blend, boolean pureNoise, float[] lowResPicture) {
        /** No picture: the hires fix's second pass, whose latents come from the first. */
        static final ImageConditioning NONE = new ImageConditioning(null, null, null, false, false, null);
    }

    /**
     * One pass of denoising: its number (0 for a job of one pass, else 1 or 2), latent size, scheduler, where it
     * starts, and the steps reported before it (progress counts both passes).
     */
    private record Pass(int number, int latentHeight, int latentWidth, Scheduler scheduler, int startIndex,
            int stepOffset, TileGrid tiles) {
        static Pass first(GenerationPlan plan) {
            GenerationRequest request = plan.request();
            return new Pass(plan.secondPass() == null ? 0 : 1, request.height() / plan.latentFactor(),
                    request.width() / plan.latentFactor(), plan.scheduler(), plan.startIndex(), 0,
                    plan.latentTiles());
        }

        static Pass second(GenerationPlan plan) {
            GenerationPlan.SecondPass second = plan.secondPass();
            int height = second.height() / plan.latentFactor();
            int width = second.width() / plan.latentFactor();
            return new Pass(2, height, width, second.scheduler(), second.startIndex(), plan.firstPassSteps(),
                    TileGrid.of(height, width, Math.max(height, width), 0));
        }

        int latentPlane() {
            return latentHeight * latentWidth;
        }
    }

    /** Step 2: the init image and the mask through the VAE encoder. */
    private ImageConditioning prepareImage(GenerationPlan plan) throws OrtException {
        GenerationRequest request = plan.request();
        OrtEnvironment environment = model.runtime().environment();
        RgbImage initImage = plan.initImage();
        InpaintMask mask = plan.mask();
        if (model.isUpscaler()) {
            // The x4 upscaler takes the picture itself ([-1, 1]) beside the latents, noised per image in prepareLatents.
            return new ImageConditioning(null, null, null, false, true, initImage.normalised());
        }
        float[] initLatents = initImage == null ? null : scaled(model.vaeEncoder().encode(environment, initImage));
        float[] maskedImageLatents = null;
        if (model.unet().isInpainting()) {
            float[] picture = initImage != null ? initImage.normalised()
                    : new float[3 * request.width() * request.height()];
            maskedImageLatents = scaled(model.vaeEncoder().encode(environment, mask.maskedPicture(picture),
                    request.width(), request.height()));
        }
        boolean blend = mask != null && !model.unet().isInpainting();
        // Inpainting at full strength starts from pure noise, as diffusers does, not from the noised init latents.
        boolean pureNoise = initLatents == null || (mask != null && request.strength() >= 1.0);
        return new ImageConditioning(initLatents, mask == null ? null : mask.latent(), maskedImageLatents, blend,
                pureNoise, null);
    }

    /**
     * Images {@code first .. first + count - 1} denoised together: their noise source (one generator per image), the
     * initial noise, the latents being denoised, and the init latents repeated per image (or null).
     */
    private record Batch(int first, int count, NoiseSource noise, float[] initialNoise, float[] latents, float[] init,
            float[] lowRes) {
    }

    /** Step 3: the batch's initial latents, pure noise or the init latents noised to where denoising starts. */
    private Batch prepareLatents(GenerationPlan plan, ImageConditioning image, int first, int count) {
        GenerationRequest request = plan.request();
        Scheduler scheduler = plan.scheduler();
        int size = count * latentPlane(request) * 4;
        List<NoiseSource> sources = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            sources.add(request.noise().create(plan.seed() + first + i));
        }
        NoiseSource noise = NoiseSource.perImage(sources);
        scheduler.setTimesteps(request.steps());
        float[] lowRes = image.lowResPicture() == null ? null : noisedPictures(plan, image.lowResPicture(), noise, count);
        float[] latents = new float[size];
        float[] initialNoise = new float[size];
        noise.fill(initialNoise);
        float[] init = image.initLatents() == null ? null : repeated(image.initLatents(), count);
        if (image.pureNoise()) {
            float scale = (float) scheduler.initNoiseSigma();
            for (int i = 0; i < size; i++) {
                latents[i] = initialNoise[i] * scale;
            }
        } else {
            System.arraycopy(init, 0, latents, 0, size);
            scheduler.addNoise(latents, initialNoise, plan.startIndex());
        }
        return new Batch(first, count, noise, initialNoise, latents, init, lowRes);
    }

    /**
     * The x4 upscaler's picture noised to the request's level with each image's first draw, as diffusers does before
     * it draws the latents: {@code sqrt(abar[n]) x picture + sqrt(1 - abar[n]) x noise} on the low-res schedule.
     */
    private float[] noisedPictures(GenerationPlan plan, float[] picture, NoiseSource noise, int count) {
        float[] noised = new float[count * picture.length];
        noise.fill(noised);
        float alphaCumprod = model.lowResSchedule().alphaCumprod(plan.request().noiseLevel());
        float signal = (float) Math.sqrt(alphaCumprod);
        float spread = (float) Math.sqrt(1 - alphaCumprod);
        for (int i = 0; i < noised.length; i++) {
            noised[i] = signal * picture[i % picture.length] + spread * noised[i];
        }
        return noised;
    }

    /**
     * Step 4: the UNet in the scheduler's loop with classifier-free guidance, reporting each step; returns the UNet
     * calls made.
     */
    private int denoise(GenerationPlan plan, Pass pass, Unet.Session unet, Conditioning conditioning,
            ImageConditioning image, Batch batch, Consumer<StepProgress> progress, BooleanSupplier cancelled,
            long jobStart) throws OrtException {
        GenerationRequest request = plan.request();
        Scheduler scheduler = pass.scheduler();
        int latentHeight = pass.latentHeight();
        int latentWidth = pass.latentWidth();
        int latentPlane = pass.latentPlane();
        int plane = 4 * latentPlane;
        int count = batch.count();
        int size = count * plane;
        float[] latents = batch.latents();
        double[] timesteps = scheduler.timesteps();
        double[] sigmas = scheduler.sigmas();
        int passes = conditioning.hidden().size();
        TileGrid tiles = pass.tiles();
        int tilePlane = 4 * tiles.tilePlane();
        float[][] predictions = new float[passes * count][tilePlane];
        float[] output = new float[size];
        float guidance = (float) request.guidanceScale();
        // Tiled (the upscaler's large pictures): each window of the latents and of the picture is evaluated on its
        // own, and the guided predictions are blended into one for the whole picture, which one scheduler steps.
        float[] tileLatents = tiles.isSingle() ? null : new float[count * tilePlane];
        float[] tileOutput = tiles.isSingle() ? output : new float[count * tilePlane];
        float[] tileLowRes = tiles.isSingle() || batch.lowRes() == null ? null
                : new float[count * 3 * tiles.tilePlane()];
        if (tiles.isSingle() && batch.lowRes() != null) {
            unet.setUpscaleConditioning(batch.lowRes(), request.noiseLevel());
        }
        int startIndex = pass.startIndex();
        int passSteps = timesteps.length - startIndex;
        int total = plan.stepsPerImage();
        int unetCalls = 0;
        for (int k = startIndex; k < timesteps.length; k++) {
            if (cancelled.getAsBoolean()) {
                throw new CancelledException(pass.stepOffset() + k - startIndex);
            }
            float inputScale = (float) scheduler.modelInputScale(k);
            if (tiles.isSingle()) {
                unet.predict(latents, inputScale, timesteps[k], predictions);
                unetCalls += unet.callsPerEvaluation();
                guide(predictions, count, conditioning.guided(), guidance, output);
            } else {
                TileGrid.Blend blend = tiles.new Blend(4 * count);
                for (TileGrid.Tile tile : tiles.tiles()) {
                    tiles.crop(latents, 0, 4 * count, tile, tileLatents, 0);
                    if (tileLowRes != null) {
                        tiles.crop(batch.lowRes(), 0, 3 * count, tile, tileLowRes, 0);
                        unet.setUpscaleConditioning(tileLowRes, request.noiseLevel());
                    }
                    unet.predict(tileLatents, inputScale, timesteps[k], predictions);
                    unetCalls += unet.callsPerEvaluation();
                    guide(predictions, count, conditioning.guided(), guidance, tileOutput);
                    blend.add(tile, tileOutput, 0);
                }
                System.arraycopy(blend.result(), 0, output, 0, size);
            }
            scheduler.step(output, k, latents, batch.noise());
            if (image.blend()) {
                float[] kept = batch.init().clone();
                if (k + 1 < timesteps.length) {
                    scheduler.addNoise(kept, batch.initialNoise(), k + 1);
                }
                float[] latentMask = image.latentMask();
                for (int i = 0; i < size; i++) {
                    float repaint = latentMask[i % latentPlane];
                    latents[i] = (1 - repaint) * kept[i] + repaint * latents[i];
                }
            }
            int step = pass.stepOffset() + k - startIndex + 1;
            boolean previewDue = request.previewEvery() > 0 && (step % request.previewEvery() == 0
                    || k - startIndex + 1 == passSteps);
            for (int i = 0; i < count; i++) {
                byte[] previewPng = previewDue ? previewOf(scheduler, k, timesteps.length,
                        java.util.Arrays.copyOfRange(latents, i * plane, (i + 1) * plane), latentHeight, latentWidth)
                        : null;
                progress.accept(new StepProgress(batch.first() + i, step, total, timesteps[k],
                        sigmas == null ? Double.NaN : sigmas[k], (long) millisSince(jobStart), previewPng,
                        pass.number()));
            }
        }
        return unetCalls;
    }

    /**
     * Classifier-free guidance: {@code predictions} holds each image's unconditional row (when guided) then its
     * conditional one; {@code output} gets {@code uncond + g x (cond - uncond)} per image, one after the other.
     */
    private static void guide(float[][] predictions, int count, boolean guided, float guidance, float[] output) {
        int rows = predictions.length / count;
        int plane = predictions[0].length;
        for (int i = 0; i < count; i++) {
            float[] conditioned = predictions[(rows - 1) * count + i];
            if (guided) {
                float[] unconditional = predictions[i];
                for (int j = 0; j < plane; j++) {
                    output[i * plane + j] = unconditional[j] + guidance * (conditioned[j] - unconditional[j]);
                }
            } else {
                System.arraycopy(conditioned, 0, output, i * plane, plane);
            }
        }
    }

    /** Step 5: each image's latents through the VAE decoder, to a PNG carrying the infotext. */
    private List<GenerationResult.GeneratedImage> decode(GenerationPlan plan, Pass pass, Batch batch)
            throws OrtException {
        int plane = 4 * pass.latentPlane();
        List<GenerationResult.GeneratedImage> decoded = new ArrayList<>();
        for (int i = 0; i < batch.count(); i++) {
            int index = batch.first() + i;
            long imageSeed = plan.seed() + index;
            float[] latents = java.util.Arrays.copyOfRange(batch.latents(), i * plane, (i + 1) * plane);
            RgbImage picture = pass.tiles().isSingle()
                    ? model.vaeDecoder().decode(model.runtime().environment(), latents, pass.latentHeight(),
                            pass.latentWidth(), model.scalingFactor())
                    : decodeTiled(latents, pass.tiles());
            String infotext = Infotext.of(plan, imageSeed, model.name());
            decoded.add(new GenerationResult.GeneratedImage(index, imageSeed, picture.width(), picture.height(),
                    picture.toPng("parameters", infotext), infotext));
        }
        return decoded;
    }

    /**
     * A picture too large to decode whole: each latent window decoded on its own and the windows' pictures blended
     * where they overlap (in float, rounded once).
     */
    private RgbImage decodeTiled(float[] latents, TileGrid tiles) throws OrtException {
        float[] window = new float[4 * tiles.tilePlane()];
        TileGrid.Blend blend = null;
        TileGrid pictureTiles = null;
        for (TileGrid.Tile tile : tiles.tiles()) {
            tiles.crop(latents, 0, 4, tile, window, 0);
            VaeDecoder.Decoded decoded = model.vaeDecoder().decodeValues(model.runtime().environment(), window,
                    tiles.tileHeight(), tiles.tileWidth(), model.scalingFactor());
            if (blend == null) {
                pictureTiles = tiles.scaled(decoded.height() / tiles.tileHeight());
                blend = pictureTiles.new Blend(3);
            }
            blend.add(new TileGrid.Tile(tile.y() * decoded.height() / tiles.tileHeight(),
                    tile.x() * decoded.width() / tiles.tileWidth()), decoded.values(), 0);
        }
        return RgbImage.fromPlanar(pictureTiles.width(), pictureTiles.height(), blend.result(), 0.5f, 0.5f);
    }

    /**
     * The hires fix's enlargement, then its second pass's start: each image's final latents enlarged (latent: bilinear,
     * as torch's interpolate without corner alignment; lanczos: decoded to 8-bit RGB, resized with Pillow's Lanczos,
     * encoded to the latent mean), then noised to where the second pass starts with the next draw of each image's
     * generator.
     */
    private Batch upscale(GenerationPlan plan, Batch batch) throws OrtException {
        GenerationRequest request = plan.request();
        GenerationPlan.SecondPass second = plan.secondPass();
        int factor = model.latentFactor();
        int height = request.height() / factor;
        int width = request.width() / factor;
        int targetHeight = second.height() / factor;
        int targetWidth = second.width() / factor;
        int plane = 4 * height * width;
        int targetPlane = 4 * targetHeight * targetWidth;
        int count = batch.count();
        float[] enlarged = new float[count * targetPlane];
        for (int i = 0; i < count; i++) {
            float[] latents = java.util.Arrays.copyOfRange(batch.latents(), i * plane, (i + 1) * plane);
            float[] result;
            String upscaler = request.hires().upscaler();
            if (upscaler.equals("latent")) {
                result = LatentResize.bilinear(latents, 4, height, width, targetHeight, targetWidth);
            } else {
                RgbImage picture = model.vaeDecoder().decode(model.runtime().environment(), latents, height, width,
                        model.scalingFactor());
                if (!upscaler.equals("lanczos")) {
                    // A1111's way with a model upscaler: enlarged by the network's factor, then Lanczos to the size.
                    picture = upscalers.get(upscaler).upscale(picture, tile -> { });
                }
                result = scaled(model.vaeEncoder().encode(model.runtime().environment(),
                        picture.resized(second.width(), second.height())));
            }
            System.arraycopy(result, 0, enlarged, i * targetPlane, targetPlane);
        }
        Scheduler scheduler = second.scheduler();
        scheduler.setTimesteps(request.hires().steps());
        float[] noise = new float[enlarged.length];
        batch.noise().fill(noise);
        float[] latents = enlarged.clone();
        scheduler.addNoise(latents, noise, second.startIndex());
        return new Batch(batch.first(), count, batch.noise(), noise, latents, enlarged, null);
    }

    private int latentPlane(GenerationRequest request) {
        return (request.height() / model.latentFactor()) * (request.width() / model.latentFactor());
    }

    private Scheduler createScheduler(GenerationRequest request, String name, int steps) {
        Scheduler scheduler;
        try {
            scheduler = Schedulers.create(name, model.schedulerConfig(), request.karras(), request.timestepSpacing());
        } catch (IllegalArgumentException e) {
            String field = request.timestepSpacing() != null && e.getMessage().contains("spacing")
                    ? "timestepSpacing" : "scheduler";
            throw new InvalidRequestException(field, e.getMessage());
        }
        try {
            scheduler.setTimesteps(steps);
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException(steps == request.steps() ? "steps" : "hires.steps", e.getMessage());
        }
        return scheduler;
    }

    /**
     * The x4 upscaler's request: it enlarges its init image (not resized), so the output is the picture's size times
     * the VAE's factor; no mask, no hires fix, a noise level within the model's.
     */
    private GenerationRequest upscaleSize(GenerationRequest request, RgbImage low) {
        if (!request.isImageToImage()) {
            throw new InvalidRequestException("initImage", "is required: the x4 upscaler enlarges a picture; send the"
                    + " picture to enlarge as initImage (--init-image)");
        }
        if (request.isInpainting() || request.hires() != null) {
            throw new InvalidRequestException(request.isInpainting() ? "mask" : "hires", "does not apply to the x4"
                    + " upscaler; drop it");
        }
        if (request.noiseLevel() < 0 || request.noiseLevel() > model.maxNoiseLevel()) {
            throw new InvalidRequestException("noiseLevel", "is " + request.noiseLevel() + "; model " + model.name()
                    + " takes 0 to " + model.maxNoiseLevel());
        }
        int width = low.width() * model.latentFactor();
        int height = low.height() * model.latentFactor();
        if ((request.width() != GenerationRequest.MODEL_DEFAULT_SIDE && request.width() != width)
                || (request.height() != GenerationRequest.MODEL_DEFAULT_SIDE && request.height() != height)) {
            throw new InvalidRequestException("width", "the x4 upscaler's output is " + width + "x" + height + ", "
                    + model.latentFactor() + " times the picture: drop width and height");
        }
        return request.withSize(width, height);
    }

    private static RgbImage decodePicture(GenerationRequest request) {
        try {
            return RgbImage.decode(request.initImage());
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("initImage", e.getMessage());
        }
    }

    /** A UNet session for {@code images} images at a time, with the job's fixed extra inputs set. */
    private Unet.Session openUnet(GenerationRequest request, Conditioning conditioning, ImageConditioning image,
            int images, Pass pass) throws OrtException {
        Unet.Session unet = model.unet().open(model.runtime().environment(), pass.tiles().tileHeight(),
                pass.tiles().tileWidth(), conditioning.hidden(), images);
        if (image.maskedImageLatents() != null) {
            unet.setInpaintConditioning(image.latentMask(), image.maskedImageLatents());
        }
        if (model.unet().guidanceEmbeddingWidth() > 0) {
            unet.setGuidanceEmbedding(GuidanceEmbedding.of(request.guidanceScale(),
                    model.unet().guidanceEmbeddingWidth()));
        }
        if (model.unet().takesAddedConditioning()) {
            // SDXL's micro-conditioning at diffusers' defaults: original size = target size, no crop.
            float h = pass.latentHeight() * model.latentFactor();
            float w = pass.latentWidth() * model.latentFactor();
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
            GenerationPlan plan) throws OrtException {
        TextEncoder.HiddenStates states = promptEncoder.encode(environment, text, plan.request().promptSyntax(),
                plan.adapters().words());
        if (!model.unet().acceptsSequence(states.sequence())) {
            throw new InvalidRequestException(field, "needs " + states.sequence() / model.tokenizer().maxLength()
                    + " chunks of 75 tokens, and this model's UNet takes only one: shorten it, or send promptSyntax"
                    + " plain to truncate it");
        }
        return states;
    }

    private float[] scaled(float[] latents) {
        for (int i = 0; i < latents.length; i++) {
            latents[i] *= model.scalingFactor();
        }
        return latents;
    }

    /**
     * Where image-to-image enters a schedule of {@code steps}: diffusers' get_timesteps (steps x strength steps are run,
     * the product truncated).
     */
    private static int startIndex(int steps, double strength, Scheduler scheduler) {
        int initSteps = Math.min((int) (steps * strength), steps);
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
