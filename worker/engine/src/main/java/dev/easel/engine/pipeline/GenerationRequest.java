package dev.easel.engine.pipeline;

import java.util.ArrayList;
import java.util.List;

/**
 * One generation job. Absent optional fields are null: {@code scheduler} (the model's own), {@code timestepSpacing}
 * (the scheduler's default), {@code seed} (a random one, reported back), {@code initImage} (text-to-image).
 * {@link #validate} lists every field that is out of bounds; the CLI and the service share these limits.
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
        int previewEvery) {

    public static final int MAX_PROMPT_CHARS = 4000;
    public static final int MIN_SIDE = 64;
    public static final int MAX_SIDE = 2048;
    public static final int MAX_STEPS = 150;
    public static final double MAX_GUIDANCE = 50;
    public static final int MAX_IMAGES = 16;

    /** A text-to-image request with Easel's defaults: 512x512, 20 steps, guidance 7.5, one image. */
    public static Builder builder(String prompt) {
        return new Builder(prompt);
    }

    public boolean isImageToImage() {
        return initImage != null;
    }

    /** A copy with {@code seed} set. */
    public GenerationRequest withSeed(long newSeed) {
        return new GenerationRequest(prompt, negativePrompt, width, height, steps, guidanceScale, scheduler, karras,
                timestepSpacing, newSeed, numImages, initImage, strength, previewEvery);
    }

    /** A copy asking for {@code count} images. */
    public GenerationRequest withNumImages(int count) {
        return new GenerationRequest(prompt, negativePrompt, width, height, steps, guidanceScale, scheduler, karras,
                timestepSpacing, seed, count, initImage, strength, previewEvery);
    }

    /** Every field that breaks a limit, with what is allowed; empty when the request is valid. */
    public List<FieldError> validate() {
        List<FieldError> errors = new ArrayList<>();
        if (prompt == null) {
            errors.add(new FieldError("prompt", "is required"));
        } else if (prompt.length() > MAX_PROMPT_CHARS) {
            errors.add(new FieldError("prompt", "has " + prompt.length() + " characters; at most " + MAX_PROMPT_CHARS));
        }
        if (negativePrompt != null && negativePrompt.length() > MAX_PROMPT_CHARS) {
            errors.add(new FieldError("negativePrompt", "has " + negativePrompt.length() + " characters; at most "
                    + MAX_PROMPT_CHARS));
        }
        side("width", width, errors);
        side("height", height, errors);
        if (steps < 1 || steps > MAX_STEPS) {
            errors.add(new FieldError("steps", "is " + steps + "; must be between 1 and " + MAX_STEPS));
        }
        if (!(guidanceScale >= 0 && guidanceScale <= MAX_GUIDANCE)) {
            errors.add(new FieldError("guidanceScale", "is " + guidanceScale + "; must be between 0 and " + MAX_GUIDANCE));
        }
        if (numImages < 1 || numImages > MAX_IMAGES) {
            errors.add(new FieldError("numImages", "is " + numImages + "; must be between 1 and " + MAX_IMAGES));
        }
        if (initImage != null) {
            if (!(strength > 0 && strength <= 1)) {
                errors.add(new FieldError("strength", "is " + strength + "; must be in (0, 1]"));
            } else if ((int) (steps * strength) < 1) {
                errors.add(new FieldError("strength", "is " + strength + "; with " + steps
                        + " steps it leaves no denoising step (steps x strength must be at least 1)"));
            }
        }
        if (previewEvery < 0) {
            errors.add(new FieldError("previewEvery", "is " + previewEvery + "; must be 0 (no previews) or more"));
        }
        return errors;
    }

    private static void side(String field, int value, List<FieldError> errors) {
        if (value < MIN_SIDE || value > MAX_SIDE || value % 8 != 0) {
            errors.add(new FieldError(field, "is " + value + "; must be a multiple of 8 between " + MIN_SIDE + " and "
                    + MAX_SIDE));
        }
    }

    /** A field that breaks a limit. */
    public record FieldError(String field, String message) {
        @Override
        public String toString() {
            return field + " " + message;
        }
    }

    /** Builds requests; every setter has Easel's default when not called. */
    public static final class Builder {
        private final String prompt;
        private String negativePrompt = "";
        private int width = 512;
        private int height = 512;
        private int steps = 20;
        private double guidanceScale = 7.5;
        private String scheduler;
        private boolean karras;
        private String timestepSpacing;
        private Long seed;
        private int numImages = 1;
        private byte[] initImage;
        private double strength = 0.8;
        private int previewEvery;

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

        public Builder previewEvery(int value) {
            previewEvery = value;
            return this;
        }

        public GenerationRequest build() {
            return new GenerationRequest(prompt, negativePrompt, width, height, steps, guidanceScale, scheduler, karras,
                    timestepSpacing, seed, numImages, initImage, strength, previewEvery);
        }
    }
}
