package dev.easel.engine.pipeline;

import dev.easel.engine.noise.NoiseSource;
import dev.easel.engine.prompt.PromptSyntax;
import dev.easel.contracts.FieldError;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.PromptTags;
import dev.easel.contracts.RequestLimits;
import java.util.Base64;
import java.util.List;

/**
 * One generation job. Absent optional fields are null: {@code scheduler} (the model's own), {@code timestepSpacing}
 * (the scheduler's default), {@code seed} (a random one, reported back), {@code initImage} (text-to-image).
 * {@link #validate} lists every field that is out of bounds, with the limits the service uses too
 * ({@link RequestLimits}).
 */
public record GenerationRequest(
        String prompt,
        String negativePrompt,
        int width,
        int height,
        int steps,
        double guidanceScale,
        String scheduler,
        boolean karras,
        String timestepSpacing,
        Long seed,
        int numImages,
        byte[] initImage,
        double strength,
        int previewEvery,
        NoiseSource.Kind noise,
        byte[] mask,
        PromptSyntax promptSyntax,
        List<PromptTags.LoraWeight> loras,
        Hires hires,
        int noiseLevel) {

    /**
     * Hires fix: the picture enlarged by {@code scale} with {@code upscaler} (latent or lanczos), then {@code steps} of
     * image-to-image at {@code denoise}, continuing the generator (see JobRequest.Hires).
     */
    public record Hires(double scale, String upscaler, int steps, double denoise) {
        /** A side after the enlargement, rounded down to a multiple of 8. */
        public int scaled(int side) {
            return (int) Math.floor(side * scale / 8) * 8;
        }

        /** The contract's hires with its defaults resolved against a first pass of {@code steps}. */
        static Hires of(JobRequest.Hires hires, int steps) {
            return new Hires(hires.scaleOrDefault(), hires.upscalerOrDefault(), hires.stepsOr(steps),
                    hires.denoiseOrDefault());
        }
    }

    /** A width or height of 0: the model's default size (8 x its UNet's sample_size; 512 when it does not say). */
    public static final int MODEL_DEFAULT_SIDE = 0;

    /** A text-to-image request with the contract's defaults ({@link JobRequest}): the model's size, one image. */
    public static Builder builder(String prompt) {
        return new Builder(prompt);
    }

    public boolean isImageToImage() {
        return initImage != null;
    }

    /** Whether only the mask's white part of the init image is repainted. */
    public boolean isInpainting() {
        return mask != null;
    }

    /**
     * The engine request for a service or CLI job: the same fields, the same defaults ({@link JobRequest#withDefaults}).
     * The init image arrives base64-encoded.
     */
    public static GenerationRequest from(JobRequest job) {
        JobRequest r = job.withDefaults();
        Builder builder = builder(r.prompt())
                .negativePrompt(r.negativePrompt())
                .size(r.width() == null ? MODEL_DEFAULT_SIDE : r.width(),
                        r.height() == null ? MODEL_DEFAULT_SIDE : r.height())
                .steps(r.steps())
                .guidanceScale(r.guidanceScale())
                .scheduler(r.scheduler())
                .karras(r.karras())
                .timestepSpacing(r.timestepSpacing())
                .seed(r.seed())
                .numImages(r.numImages())
                .previewEvery(r.previewEvery())
                .noise(NoiseSource.Kind.of(r.noise()));
        if (r.initImage() != null) {
            try {
                builder.initImage(Base64.getDecoder().decode(r.initImage()), r.strength());
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException("initImage", "is not valid base64");
            }
        }
        if (r.mask() != null) {
            try {
                builder.mask(Base64.getDecoder().decode(r.mask()));
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException("mask", "is not valid base64");
            }
        }
        builder.promptSyntax(PromptSyntax.of(r.promptSyntax()));
        if (r.hires() != null) {
            builder.hires(Hires.of(r.hires(), r.steps()));
        }
        if (r.noiseLevel() != null) {
            builder.noiseLevel(r.noiseLevel());
        }
        if (r.loras() != null) {
            builder.loras(r.loras().stream()
                    .map(lora -> new PromptTags.LoraWeight(lora.name(), lora.weightOrDefault())).toList());
        }
        return builder.build();
    }

    /** A copy with an absent width or height set to {@code side} (the model's default). */
    public GenerationRequest withDefaultSide(int side) {
        return new GenerationRequest(prompt, negativePrompt, width == MODEL_DEFAULT_SIDE ? side : width,
                height == MODEL_DEFAULT_SIDE ? side : height, steps, guidanceScale, scheduler, karras, timestepSpacing,
                seed, numImages, initImage, strength, previewEvery, noise, mask, promptSyntax, loras, hires, noiseLevel);
    }

    /** A copy with width and height set (the x4 upscaler's output: four times its input). */
    public GenerationRequest withSize(int newWidth, int newHeight) {
        return new GenerationRequest(prompt, negativePrompt, newWidth, newHeight, steps, guidanceScale, scheduler,
                karras, timestepSpacing, seed, numImages, initImage, strength, previewEvery, noise, mask, promptSyntax,
                loras, hires, noiseLevel);
    }

    /** A copy with {@code seed} set. */
    public GenerationRequest withSeed(long newSeed) {
        return new GenerationRequest(prompt, negativePrompt, width, height, steps, guidanceScale, scheduler, karras,
                timestepSpacing, newSeed, numImages, initImage, strength, previewEvery, noise, mask, promptSyntax, loras, hires, noiseLevel);
    }

    /** A copy asking for {@code count} images. */
    public GenerationRequest withNumImages(int count) {
        return new GenerationRequest(prompt, negativePrompt, width, height, steps, guidanceScale, scheduler, karras,
                timestepSpacing, seed, count, initImage, strength, previewEvery, noise, mask, promptSyntax, loras, hires, noiseLevel);
    }

    /** Every field that breaks a limit, with what is allowed; empty when the request is valid. */
    public List<FieldError> validate() {
        List<FieldError> errors = new java.util.ArrayList<>(RequestLimits.check(prompt, negativePrompt,
                width == MODEL_DEFAULT_SIDE ? JobRequest.DEFAULT_SIDE : width,
                height == MODEL_DEFAULT_SIDE ? JobRequest.DEFAULT_SIDE : height,
                steps, guidanceScale, numImages, initImage != null, strength, previewEvery));
        if (mask != null && initImage == null) {
            errors.add(new FieldError("mask", RequestLimits.MASK_NEEDS_INIT_IMAGE));
        }
        if (hires != null) {
            errors.addAll(RequestLimits.checkHires(new JobRequest.Hires(hires.scale(), hires.upscaler(), hires.steps(),
                    hires.denoise()), width == MODEL_DEFAULT_SIDE ? JobRequest.DEFAULT_SIDE : width,
                    height == MODEL_DEFAULT_SIDE ? JobRequest.DEFAULT_SIDE : height, steps, initImage != null));
        }
        return errors;
    }

    /** Builds requests; every setter has Easel's default when not called. */
    public static final class Builder {
        private final String prompt;
        private String negativePrompt = "";
        private int width = MODEL_DEFAULT_SIDE;
        private int height = MODEL_DEFAULT_SIDE;
        private int steps = JobRequest.DEFAULT_STEPS;
        private double guidanceScale = JobRequest.DEFAULT_GUIDANCE;
        private String scheduler;
        private boolean karras;
        private String timestepSpacing;
        private Long seed;
        private int numImages = JobRequest.DEFAULT_NUM_IMAGES;
        private byte[] initImage;
        private double strength = JobRequest.DEFAULT_STRENGTH;
        private int previewEvery;
        private NoiseSource.Kind noise = NoiseSource.Kind.of(JobRequest.DEFAULT_NOISE);
        private byte[] mask;
        private PromptSyntax promptSyntax = PromptSyntax.of(JobRequest.DEFAULT_PROMPT_SYNTAX);
        private List<PromptTags.LoraWeight> loras = List.of();
        private Hires hires;
        private int noiseLevel = JobRequest.DEFAULT_NOISE_LEVEL;

        private Builder(String prompt) {
            this.prompt = prompt;
        }

        public Builder negativePrompt(String value) {
            negativePrompt = value == null ? "" : value;
            return this;
        }

        public Builder size(int newWidth, int newHeight) {
            width = newWidth;
            height = newHeight;
            return this;
        }

        public Builder steps(int value) {
            steps = value;
            return this;
        }

        public Builder guidanceScale(double value) {
            guidanceScale = value;
            return this;
        }

        public Builder scheduler(String value) {
            scheduler = value;
            return this;
        }

        public Builder karras(boolean value) {
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

        public Builder numImages(int value) {
            numImages = value;
            return this;
        }

        /** Image-to-image from an encoded PNG or JPEG at {@code newStrength} in (0, 1]. */
        public Builder initImage(byte[] encoded, double newStrength) {
            initImage = encoded;
            strength = newStrength;
            return this;
        }

        /** Where the images' noise comes from (torch's CPU generator unless set, so diffusers' seeds carry over). */
        public Builder noise(NoiseSource.Kind value) {
            noise = value;
            return this;
        }

        /** Inpainting: a PNG or JPEG whose white part (grey 128 and up) is repainted; needs an init image. */
        public Builder mask(byte[] encoded) {
            mask = encoded;
            return this;
        }

        /** How the prompts are read (A1111's weights unless set). */
        public Builder promptSyntax(PromptSyntax value) {
            promptSyntax = value;
            return this;
        }

        /** LoRAs besides those the prompt's tags ask for, applied after them. */
        public Builder loras(List<PromptTags.LoraWeight> value) {
            loras = List.copyOf(value);
            return this;
        }

        /** The x4 upscaler's noise level (0 .. the model's max_noise_level). */
        public Builder noiseLevel(int value) {
            noiseLevel = value;
            return this;
        }

        /** Hires fix (null: one pass). */
        public Builder hires(Hires value) {
            hires = value;
            return this;
        }

        public Builder previewEvery(int value) {
            previewEvery = value;
            return this;
        }

        public GenerationRequest build() {
            return new GenerationRequest(prompt, negativePrompt, width, height, steps, guidanceScale, scheduler, karras,
                    timestepSpacing, seed, numImages, initImage, strength, previewEvery, noise, mask, promptSyntax, loras, hires, noiseLevel);
        }
    }
}
