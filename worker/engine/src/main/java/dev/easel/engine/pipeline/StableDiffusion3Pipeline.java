package dev.easel.engine.pipeline;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.easel.contracts.FieldError;
import dev.easel.contracts.PromptTags;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.model.Sd3Model;
import dev.easel.engine.model.TextEncoder;
import dev.easel.engine.noise.NoiseSource;
import dev.easel.engine.scheduler.FlowMatchSchedule;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Stable Diffusion 3 / 3.5 as diffusers' {@code StableDiffusion3Pipeline} and {@code StableDiffusion3Img2ImgPipeline}
 * run it: the prompt through both CLIP encoders (penultimate layer and pooled projection) and T5, assembled into one
 * conditioning; the MMDiT transformer in the flow-matching Euler loop with classifier-free guidance (an empty negative
 * prompt encoded, not zeroed); the 16-channel VAE with its scale and shift. Prompts are read as plain text (diffusers
 * truncates CLIP's at 77 tokens, T5's at 256). One job runs at a time.
 */
public final class StableDiffusion3Pipeline implements Pipeline {
    /** The one scheduler the model offers, by the name requests use (A1111 and Forge call it Euler for SD3). */
    public static final String SCHEDULER = "euler";

    private final Sd3Model model;

    public StableDiffusion3Pipeline(Sd3Model model) {
        this.model = model;
    }

    public Sd3Model model() {
        return model;
    }

    @Override
    public String modelName() {
        return model.name();
    }

    @Override
    public ModelKind kind() {
        return ModelKind.GENERATOR;
    }

    @Override
    public List<String> schedulers() {
        return List.of(SCHEDULER);
    }

    @Override
    public String provider() {
        return model.runtime().provider();
    }

    @Override
    public GenerationRequest warmUpRequest() {
        return GenerationRequest.builder("warm-up").size(64, 64).steps(1).guidanceScale(2).seed(0L).build();
    }

    @Override
    public Sd3Plan plan(GenerationRequest request) {
        request = request.withDefaultSide(model.defaultSide());
        List<FieldError> errors = new ArrayList<>(request.validate());
        if (request.scheduler() != null && !request.scheduler().equals(SCHEDULER)) {
            errors.add(new FieldError("scheduler", "'" + request.scheduler() + "' does not apply to model "
                    + modelName() + " (Stable Diffusion 3, flow matching); it takes " + SCHEDULER));
        }
        for (String[] side : new String[][] {{"width", Integer.toString(request.width())},
                {"height", Integer.toString(request.height())}}) {
            if (Integer.parseInt(side[1]) > model.maxSide()) {
                errors.add(new FieldError(side[0], "is " + side[1] + "; model " + modelName() + "'s transformer"
                        + " covers at most " + model.maxSide() + " (its position embedding's grid)"));
            }
        }
        if (request.karras() || request.timestepSpacing() != null) {
            errors.add(new FieldError(request.karras() ? "karras" : "timestepSpacing", "does not apply to model "
                    + modelName() + " (Stable Diffusion 3: its shifted flow-matching schedule); drop it"));
        }
        if (request.isInpainting() || request.hires() != null) {
            errors.add(new FieldError(request.isInpainting() ? "mask" : "hires", "is not offered for Stable Diffusion"
                    + " 3 models yet; drop it"));
        }
        if (!request.loras().isEmpty() || !PromptTags.parse(request.prompt()).loras().isEmpty()) {
            errors.add(new FieldError("loras", "are not offered for Stable Diffusion 3 models yet; drop them"));
        }
        if (request.isImageToImage() && model.vaeEncoder() == null) {
            errors.add(new FieldError("initImage", "needs a VAE encoder, and model " + modelName()
                    + " has no vae_encoder/; export it with one"));
        }
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
        FlowMatchSchedule schedule = FlowMatchSchedule.of(model.shift(), model.trainTimesteps(), request.steps());
        int startIndex = request.isImageToImage() ? schedule.startIndex(request.strength()) : 0;
        if (startIndex >= schedule.steps()) {
            throw new InvalidRequestException("strength", "is " + request.strength() + "; with " + request.steps()
                    + " steps it leaves no step to run (steps x strength must be at least 1)");
        }
        RgbImage init = null;
        if (request.isImageToImage()) {
            try {
                init = RgbImage.decode(request.initImage()).resized(request.width(), request.height());
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException("initImage", e.getMessage());
            }
        }
        long seed = request.seed() != null ? request.seed() : StableDiffusionPipeline.randomSeed();
        return new Sd3Plan(request, schedule, startIndex, seed, init);
    }

    /** One text's conditioning: the joint sequence [77 + 256, D] and the pooled [P1 + P2]. */
    private record Conditioning(float[] states, int sequence, int width, float[] pooled) {
    }

    @Override
    public synchronized GenerationResult generate(JobPlan planned, Consumer<StepProgress> progress,
            BooleanSupplier cancelled) throws OrtException {
        if (!(planned instanceof Sd3Plan plan)) {
            throw new IllegalArgumentException("a plan made by another pipeline");
        }
        long start = System.nanoTime();
        model.resetRunNanos();
        GenerationRequest request = plan.request();
        OrtEnvironment environment = model.runtime().environment();
        boolean guided = request.guidanceScale() > 1.0;
        Conditioning positive = encode(environment, request.prompt());
        Conditioning negative = guided ? encode(environment, request.negativePrompt()) : null;
        float[][] text = guided ? new float[][] {negative.states(), positive.states()}
                : new float[][] {positive.states()};
        float[][] pooled = guided ? new float[][] {negative.pooled(), positive.pooled()}
                : new float[][] {positive.pooled()};
        double textMillis = millisSince(start);

        int latentHeight = request.height() / model.latentFactor();
        int latentWidth = request.width() / model.latentFactor();
        int size = Sd3Model.LATENT_CHANNELS * latentHeight * latentWidth;
        float[] initLatents = null;
        if (plan.initImage() != null) {
            initLatents = model.vaeEncoder().encode(environment, plan.initImage());
            for (int i = 0; i < size; i++) {
                initLatents[i] = (initLatents[i] - model.shiftFactor()) * model.scalingFactor();
            }
        }
        FlowMatchSchedule schedule = plan.schedule();
        float[] sigmas = schedule.sigmas();
        float guidance = (float) request.guidanceScale();
        int total = plan.stepsPerImage();
        List<GenerationResult.GeneratedImage> images = new ArrayList<>();
        double denoiseMillis = 0;
        double decodeMillis = 0;
        int calls = 0;
        try (dev.easel.engine.model.Transformer.Session transformer = model.transformer().open(environment,
                text.length, latentHeight, latentWidth, text, positive.sequence(), positive.width(), pooled)) {
            for (int index = 0; index < request.numImages(); index++) {
                long phase = System.nanoTime();
                long imageSeed = plan.seed() + index;
                float[] latents = initialLatents(plan, request.noise().create(imageSeed), initLatents, size);
                for (int k = plan.startIndex(); k < schedule.steps(); k++) {
                    int step = k - plan.startIndex();
                    if (cancelled.getAsBoolean()) {
                        throw new CancelledException(step);
                    }
                    float[][] velocity = transformer.predict(latents, schedule.timesteps()[k]);
                    calls++;
                    float delta = sigmas[k + 1] - sigmas[k];
                    float[] conditioned = velocity[velocity.length - 1];
                    for (int i = 0; i < size; i++) {
                        float v = guided ? velocity[0][i] + guidance * (conditioned[i] - velocity[0][i])
                                : conditioned[i];
                        latents[i] = latents[i] + delta * v;
                    }
                    progress.accept(new StepProgress(index, step + 1, total, schedule.timesteps()[k], sigmas[k],
                            (long) millisSince(start), null, 0));
                }
                denoiseMillis += millisSince(phase);
                phase = System.nanoTime();
                images.add(decode(plan, index, latents, latentHeight, latentWidth));
                decodeMillis += millisSince(phase);
            }
        }
        GenerationResult.Timings timings = new GenerationResult.Timings(textMillis, denoiseMillis, decodeMillis,
                millisSince(start), model.runNanos() / 1e6, calls);
        return new GenerationResult(images, plan.seed(), SCHEDULER, provider(), timings);
    }

    /** Pure noise, or for image-to-image the picture's latents noised to where the schedule starts. */
    private static float[] initialLatents(Sd3Plan plan, NoiseSource noise, float[] initLatents, int size) {
        float[] latents = new float[size];
        noise.fill(latents);
        if (initLatents != null) {
            float sigma = plan.schedule().sigmas()[plan.startIndex()];
            for (int i = 0; i < size; i++) {
                latents[i] = sigma * latents[i] + (1f - sigma) * initLatents[i];
            }
        }
        return latents;
    }

    /** diffusers: latents / scaling_factor + shift_factor, then the decoder; a PNG carrying the infotext. */
    private GenerationResult.GeneratedImage decode(Sd3Plan plan, int index, float[] latents, int latentHeight,
            int latentWidth) throws OrtException {
        float[] unscaled = new float[latents.length];
        for (int i = 0; i < latents.length; i++) {
            unscaled[i] = latents[i] / model.scalingFactor() + model.shiftFactor();
        }
        RgbImage picture = model.vaeDecoder().decode(model.runtime().environment(), unscaled, latentHeight,
                latentWidth, 1f);
        long imageSeed = plan.seed() + index;
        String infotext = infotext(plan, imageSeed);
        return new GenerationResult.GeneratedImage(index, imageSeed, picture.width(), picture.height(),
                picture.toPng("parameters", infotext), infotext);
    }

    /** diffusers' encode_prompt for one text: both CLIP encoders' penultimate states side by side, then T5's. */
    private Conditioning encode(OrtEnvironment environment, String text) throws OrtException {
        TextEncoder.HiddenStates clipL = model.textEncoder().encode(environment, model.tokenizer().encode(text));
        TextEncoder.HiddenStates clipG = model.textEncoder2().encode(environment, model.tokenizer2().encode(text));
        int width = model.jointAttentionDim();
        int clipTokens = clipL.sequence();
        int sequence = clipTokens + Sd3Model.T5_SEQUENCE;
        if (clipL.width() + clipG.width() > width) {
            throw new dev.easel.engine.model.ModelException(modelName() + ": the CLIP states (" + clipL.width() + " + "
                    + clipG.width() + ") are wider than the transformer's joint_attention_dim " + width);
        }
        float[] states = new float[sequence * width];
        for (int t = 0; t < clipTokens; t++) {
            System.arraycopy(clipL.values(), t * clipL.width(), states, t * width, clipL.width());
            System.arraycopy(clipG.values(), t * clipG.width(), states, t * width + clipL.width(), clipG.width());
        }
        if (model.hasT5()) {
            TextEncoder.HiddenStates t5 = model.textEncoder3().encode(environment,
                    model.tokenizer3().encode(text, Sd3Model.T5_SEQUENCE));
            if (t5.width() != width) {
                throw new dev.easel.engine.model.ModelException(modelName() + ": T5's states are " + t5.width()
                        + " wide; the transformer's joint_attention_dim is " + width);
            }
            System.arraycopy(t5.values(), 0, states, clipTokens * width, Sd3Model.T5_SEQUENCE * width);
        }
        float[] pooled = new float[clipL.pooled().length + clipG.pooled().length];
        System.arraycopy(clipL.pooled(), 0, pooled, 0, clipL.pooled().length);
        System.arraycopy(clipG.pooled(), 0, pooled, clipL.pooled().length, clipG.pooled().length);
        return new Conditioning(states, sequence, width, pooled);
    }

    /** The infotext as A1111 and Forge write it for SD3 (their sampler name Euler, RNG CPU for torch's noise). */
    private String infotext(Sd3Plan plan, long seed) {
        GenerationRequest request = plan.request();
        StringBuilder text = new StringBuilder(request.prompt());
        if (!request.negativePrompt().isEmpty()) {
            text.append("\nNegative prompt: ").append(request.negativePrompt());
        }
        text.append("\nSteps: ").append(request.steps()).append(", Sampler: Euler, Schedule type: Simple")
                .append(", CFG scale: ").append(Infotext.format(request.guidanceScale()))
                .append(", Seed: ").append(seed)
                .append(", Size: ").append(request.width()).append('x').append(request.height())
                .append(", Model: ").append(modelName())
                .append(", Shift: ").append(Infotext.format(model.shift()));
        if (request.noise() == NoiseSource.Kind.TORCH) {
            text.append(", RNG: CPU");
        }
        if (request.isImageToImage()) {
            text.append(", Denoising strength: ").append(Infotext.format(request.strength()));
        }
        if (!model.hasT5()) {
            text.append(", T5: none");
        }
        return text.toString();
    }

    @Override
    public void close() {
        model.close();
    }

    private static double millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e6;
    }
}
