package dev.easel.contracts;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * What a client submits: the fields and limits of {@code easel run}. Absent fields take the defaults
 * ({@link #withDefaults}); {@code initImage} is a base64 PNG or JPEG for image-to-image; {@code model} names a model
 * the workers serve (absent: their default); {@code mask} (base64 PNG or JPEG, white = repaint) turns image-to-image
 * into inpainting.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JobRequest(
        String prompt,
        String negativePrompt,
        Integer width,
        Integer height,
        Integer steps,
        Double guidanceScale,
        String scheduler,
        Boolean karras,
        String timestepSpacing,
        Long seed,
        Integer numImages,
        String model,
        String initImage,
        Double strength,
        Boolean preview,
        Integer previewEvery,
        String noise,
        String mask,
        String promptSyntax,
        List<Lora> loras,
        Hires hires,
        Integer noiseLevel,
        Webhook webhook) {

    /** AUTOMATIC1111's seed for "draw one" (its API's default): read as no seed, so one is drawn and reported. */
    public static final long RANDOM_SEED = -1;

    public JobRequest {
        if (seed != null && seed == RANDOM_SEED) {
            seed = null;
        }
    }

    /**
     * Hires fix on a text-to-image job: the picture made at width x height, enlarged by {@code scale} with
     * {@code upscaler} ({@code latent}: the latents, bilinear; {@code lanczos}: the decoded picture; or the id of an
     * image upscaler model the same workers serve: the decoded picture through it, then Lanczos to the size), then an
     * image-to-image pass of {@code steps} at {@code denoise} continuing the same seed's generator. Absent fields take
     * the defaults: scale 2, latent, the job's steps, denoise 0.7.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Hires(Double scale, String upscaler, Integer steps, Double denoise) {
        public static final double DEFAULT_SCALE = 2;
        public static final String DEFAULT_UPSCALER = "latent";
        public static final double DEFAULT_DENOISE = 0.7;
        /** The upscalers every worker has; any other is an image upscaler model's id. */
        public static final List<String> UPSCALERS = List.of("latent", "lanczos");

        public double scaleOrDefault() {
            return scale == null ? DEFAULT_SCALE : scale;
        }

        public String upscalerOrDefault() {
            return upscaler == null ? DEFAULT_UPSCALER : upscaler;
        }

        /** The second pass's steps: as given, else the first pass's. */
        public int stepsOr(int firstPassSteps) {
            return steps == null ? firstPassSteps : steps;
        }

        public double denoiseOrDefault() {
            return denoise == null ? DEFAULT_DENOISE : denoise;
        }

        /** A side after the enlargement: {@code side} x scale, rounded down to a multiple of 8. */
        public int scaled(int side) {
            return (int) Math.floor(side * scaleOrDefault() / 8) * 8;
        }
    }

    /**
     * A LoRA the job applies, by its name in the workers' LoRA folder, at {@code weight} (absent: 1). The prompt's
     * {@code <lora:NAME:WEIGHT>} tags ask for LoRAs too; both apply.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Lora(String name, Double weight) {
        public double weightOrDefault() {
            return weight == null ? 1.0 : weight;
        }
    }

    /** Where the gateway POSTs the job's events, and which ones (absent: completed, failed and cancelled). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Webhook(String url, List<String> events) {
        public static final List<String> EVENTS = List.of("started", "progress", "completed", "failed", "cancelled");
        public static final List<String> DEFAULT_EVENTS = List.of("completed", "failed", "cancelled");

        /** The events to deliver: those asked for, or the terminal ones. */
        public List<String> eventsOrDefault() {
            return events == null || events.isEmpty() ? DEFAULT_EVENTS : events;
        }
    }

    /** Builds requests field by field; a field never set stays absent, so its default applies. */
    public static final class Builder {
        private String prompt;
        private String negativePrompt;
        private Integer width;
        private Integer height;
        private Integer steps;
        private Double guidanceScale;
        private String scheduler;
        private Boolean karras;
        private String timestepSpacing;
        private Long seed;
        private Integer numImages;
        private String model;
        private String initImage;
        private Double strength;
        private Boolean preview;
        private Integer previewEvery;
        private String noise;
        private String mask;
        private String promptSyntax;
        private List<Lora> loras;
        private Hires hires;
        private Integer noiseLevel;
        private Webhook webhook;

        private Builder() {
        }

        public Builder prompt(String value) {
            prompt = value;
            return this;
        }

        public Builder negativePrompt(String value) {
            negativePrompt = value;
            return this;
        }

        public Builder steps(Integer value) {
            steps = value;
            return this;
        }

        public Builder guidanceScale(Double value) {
            guidanceScale = value;
            return this;
        }

        public Builder scheduler(String value) {
            scheduler = value;
            return this;
        }

        public Builder karras(Boolean value) {
            karras = value;
            return this;
        }

        public Builder timestepSpacing(String value) {
            timestepSpacing = value;
            return this;
        }

        public Builder seed(Long value) {
            seed = value;
            return this;
        }

        public Builder numImages(Integer value) {
            numImages = value;
            return this;
        }

        public Builder model(String value) {
            model = value;
            return this;
        }

        public Builder initImage(String value) {
            initImage = value;
            return this;
        }

        public Builder strength(Double value) {
            strength = value;
            return this;
        }

        public Builder preview(Boolean value) {
            preview = value;
            return this;
        }

        public Builder previewEvery(Integer value) {
            previewEvery = value;
            return this;
        }

        public Builder noise(String value) {
            noise = value;
            return this;
        }

        public Builder mask(String value) {
            mask = value;
            return this;
        }

        public Builder promptSyntax(String value) {
            promptSyntax = value;
            return this;
        }

        public Builder loras(List<Lora> value) {
            loras = value;
            return this;
        }

        public Builder hires(Hires value) {
            hires = value;
            return this;
        }

        public Builder noiseLevel(Integer value) {
            noiseLevel = value;
            return this;
        }

        public Builder webhook(Webhook value) {
            webhook = value;
            return this;
        }

        public Builder size(Integer newWidth, Integer newHeight) {
            width = newWidth;
            height = newHeight;
            return this;
        }

        public JobRequest build() {
            return new JobRequest(prompt, negativePrompt, width, height, steps, guidanceScale, scheduler, karras,
                    timestepSpacing, seed, numImages, model, initImage, strength, preview, previewEvery, noise, mask,
                    promptSyntax, loras, hires, noiseLevel, webhook);
        }
    }

    /** The side of an SD 1.x picture when the request names none (the model decides: see {@link #withDefaults}). */
    public static final int DEFAULT_SIDE = 512;
    /** The largest side a model picks by default (SDXL's 1024): what a job of no stated size may cost. */
    public static final int LARGEST_DEFAULT_SIDE = 1024;
    public static final int DEFAULT_STEPS = 20;
    public static final double DEFAULT_GUIDANCE = 7.5;
    public static final double DEFAULT_STRENGTH = 0.8;
    public static final int DEFAULT_NUM_IMAGES = 1;
    /** The x4 upscaler's noise level when a request names none (diffusers' default). */
    public static final int DEFAULT_NOISE_LEVEL = 20;
    /** With previews on and no previewEvery: a preview after every step. */
    public static final int DEFAULT_PREVIEW_EVERY = 1;
    /** torch.randn on a CPU generator: it reproduces torch bit for bit, so a diffusers or ComfyUI seed carries over. */
    public static final String DEFAULT_NOISE = "torch";
    /** AUTOMATIC1111's attention syntax and chunking, which prompts written for A1111 (most published ones) expect. */
    public static final String DEFAULT_PROMPT_SYNTAX = "a1111";

    /** A request for {@code prompt} with every other field absent (their defaults apply). */
    public static Builder builder(String prompt) {
        return new Builder().prompt(prompt);
    }

    /** A builder holding this request's fields. */
    public Builder toBuilder() {
        return new Builder().prompt(prompt).negativePrompt(negativePrompt).size(width, height).steps(steps)
                .guidanceScale(guidanceScale).scheduler(scheduler).karras(karras).timestepSpacing(timestepSpacing)
                .seed(seed).numImages(numImages).model(model).initImage(initImage).strength(strength)
                .preview(preview).previewEvery(previewEvery).noise(noise).mask(mask).promptSyntax(promptSyntax)
                .loras(loras).hires(hires).noiseLevel(noiseLevel).webhook(webhook);
    }

    /**
     * A copy with every absent field at its default. The seed stays absent (the gateway draws it), and so do width
     * and height: the worker's model decides them (8 x its UNet's sample_size: 512 for SD 1.x, 1024 for SDXL).
     */
    public JobRequest withDefaults() {
        boolean previews = Boolean.TRUE.equals(preview);
        return toBuilder()
                .negativePrompt(negativePrompt == null ? "" : negativePrompt)
                .steps(steps == null ? DEFAULT_STEPS : steps)
                .guidanceScale(guidanceScale == null ? DEFAULT_GUIDANCE : guidanceScale)
                .karras(karras != null && karras)
                .numImages(numImages == null ? DEFAULT_NUM_IMAGES : numImages)
                .strength(strength == null ? DEFAULT_STRENGTH : strength)
                .preview(previews)
                .previewEvery(previews ? (previewEvery == null ? DEFAULT_PREVIEW_EVERY : previewEvery) : 0)
                .noise(noise == null ? DEFAULT_NOISE : noise)
                .promptSyntax(promptSyntax == null ? DEFAULT_PROMPT_SYNTAX : promptSyntax)
                .build();
    }

    public JobRequest withModel(String newModel) {
        return toBuilder().model(newModel).build();
    }

    public JobRequest withSeed(long newSeed) {
        return toBuilder().seed(newSeed).build();
    }

    /** A side as given, or the largest a model would pick, for bounds and cost checks made before the model is known. */
    public static int sideOrDefault(Integer side) {
        return side == null ? LARGEST_DEFAULT_SIDE : side;
    }

    /** Every field out of bounds, the request taken with its defaults and the engine's image bounds. */
    public List<FieldError> validate() {
        return validate(RequestLimits.ImageBounds.ENGINE);
    }

    /**
     * Every field out of bounds, the request taken with its defaults; {@code initImage} and {@code mask} are decoded
     * here, once, and checked against {@code imageBounds} (a service may allow less than the engine can take).
     */
    public List<FieldError> validate(RequestLimits.ImageBounds imageBounds) {
        JobRequest r = withDefaults();
        List<FieldError> errors = new ArrayList<>();
        if (r.initImage() != null) {
            checkEncodedImage("initImage", r.initImage(), imageBounds, errors);
        } else if (strength() != null) {
            errors.add(new FieldError("strength", "applies to image-to-image only; send initImage with it, or drop it"));
        }
        if (mask != null) {
            if (initImage == null) {
                errors.add(new FieldError("mask", RequestLimits.MASK_NEEDS_INIT_IMAGE));
            }
            checkEncodedImage("mask", mask, imageBounds, errors);
        }
        if (promptSyntax != null && !RequestLimits.PROMPT_SYNTAXES.contains(promptSyntax)) {
            errors.add(new FieldError("promptSyntax", "is '" + promptSyntax + "'; one of "
                    + String.join(", ", RequestLimits.PROMPT_SYNTAXES)));
        }
        if (r.preview() && r.previewEvery() < 1) {
            errors.add(new FieldError("previewEvery", "is " + r.previewEvery() + "; must be at least 1"));
        }
        errors.addAll(RequestLimits.checkScheduler(r.scheduler(), r.karras(), r.timestepSpacing()));
        if (webhook != null) {
            errors.addAll(RequestLimits.checkWebhook(webhook.url(), webhook.events()));
        }
        errors.addAll(RequestLimits.checkAdapters(r.prompt(), r.negativePrompt(), loras));
        if (noiseLevel != null && (noiseLevel < 0 || noiseLevel > RequestLimits.MAX_NOISE_LEVEL)) {
            errors.add(new FieldError("noiseLevel", "is " + noiseLevel + "; must be between 0 and "
                    + RequestLimits.MAX_NOISE_LEVEL + " (the x4 upscaler's max_noise_level may be lower)"));
        }
        if (hires != null) {
            errors.addAll(RequestLimits.checkHires(hires, sideOrDefault(r.width()), sideOrDefault(r.height()),
                    r.steps(), r.initImage() != null));
        }
        if (noise != null && !RequestLimits.NOISES.contains(noise)) {
            errors.add(new FieldError("noise", "is '" + noise + "'; one of " + String.join(", ", RequestLimits.NOISES)));
        }
        errors.addAll(0, RequestLimits.check(r.prompt(), r.negativePrompt(), sideOrDefault(r.width()),
                sideOrDefault(r.height()), r.steps(),
                r.guidanceScale(), r.numImages(), r.initImage() != null, r.strength(), r.previewEvery()));
        return errors;
    }

    private static void checkEncodedImage(String field, String base64, RequestLimits.ImageBounds bounds,
            List<FieldError> errors) {
        byte[] image;
        try {
            image = Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            errors.add(new FieldError(field, "is not valid base64"));
            return;
        }
        RequestLimits.checkImage(field, image, bounds).ifPresent(errors::add);
    }
}
