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
        Webhook webhook) {

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

    /** A request with Easel's noise and no webhook, as the CLI and the engine's callers make them. */
    public JobRequest(String prompt, String negativePrompt, Integer width, Integer height, Integer steps,
            Double guidanceScale, String scheduler, Boolean karras, String timestepSpacing, Long seed, Integer numImages,
            String model, String initImage, Double strength, Boolean preview, Integer previewEvery) {
        this(prompt, negativePrompt, width, height, steps, guidanceScale, scheduler, karras, timestepSpacing, seed,
                numImages, model, initImage, strength, preview, previewEvery, null, null, null, null);
    }

    /** The side of an SD 1.x picture when the request names none (the model decides: see {@link #withDefaults}). */
    public static final int DEFAULT_SIDE = 512;
    /** The largest side a model picks by default (SDXL's 1024): what a job of no stated size may cost. */
    public static final int LARGEST_DEFAULT_SIDE = 1024;
    public static final int DEFAULT_STEPS = 20;
    public static final double DEFAULT_GUIDANCE = 7.5;
    public static final double DEFAULT_STRENGTH = 0.8;
    /** torch.randn on a CPU generator: it reproduces torch bit for bit, so a diffusers or ComfyUI seed carries over. */
    public static final String DEFAULT_NOISE = "torch";
    /** AUTOMATIC1111's attention syntax and chunking, which prompts written for A1111 (most published ones) expect. */
    public static final String DEFAULT_PROMPT_SYNTAX = "a1111";

    /**
     * A copy with every absent field at its default. The seed stays absent (the gateway draws it), and so do width
     * and height: the worker's model decides them (8 x its UNet's sample_size: 512 for SD 1.x, 1024 for SDXL).
     */
    public JobRequest withDefaults() {
        boolean previews = Boolean.TRUE.equals(preview);
        return new JobRequest(prompt, negativePrompt == null ? "" : negativePrompt,
                width, height,
                steps == null ? DEFAULT_STEPS : steps, guidanceScale == null ? DEFAULT_GUIDANCE : guidanceScale,
                scheduler, karras != null && karras, timestepSpacing, seed, numImages == null ? 1 : numImages, model,
                initImage, strength == null ? DEFAULT_STRENGTH : strength, previews,
                previews ? (previewEvery == null ? 1 : previewEvery) : 0, noise == null ? DEFAULT_NOISE : noise, mask,
                promptSyntax == null ? DEFAULT_PROMPT_SYNTAX : promptSyntax, webhook);
    }

    public JobRequest withModel(String newModel) {
        return new JobRequest(prompt, negativePrompt, width, height, steps, guidanceScale, scheduler, karras,
                timestepSpacing, seed, numImages, newModel, initImage, strength, preview, previewEvery, noise, mask,
                promptSyntax, webhook);
    }

    public JobRequest withSeed(long newSeed) {
        return new JobRequest(prompt, negativePrompt, width, height, steps, guidanceScale, scheduler, karras,
                timestepSpacing, newSeed, numImages, model, initImage, strength, preview, previewEvery, noise, mask,
                promptSyntax, webhook);
    }

    /** A side as given, or the largest a model would pick, for bounds and cost checks made before the model is known. */
    public static int sideOrDefault(Integer side) {
        return side == null ? LARGEST_DEFAULT_SIDE : side;
    }

    /** Every field out of bounds, the request taken with its defaults. */
    public List<FieldError> validate() {
        JobRequest r = withDefaults();
        List<FieldError> errors = new ArrayList<>();
        byte[] image = null;
        if (r.initImage() != null) {
            try {
                image = Base64.getDecoder().decode(r.initImage());
            } catch (IllegalArgumentException e) {
                errors.add(new FieldError("initImage", "is not valid base64"));
            }
            if (image != null) {
                RequestLimits.checkImage("initImage", image).ifPresent(errors::add);
            }
        } else if (strength() != null) {
            errors.add(new FieldError("strength", "applies to image-to-image only; send initImage with it, or drop it"));
        }
        if (mask != null) {
            if (initImage == null) {
                errors.add(new FieldError("mask", RequestLimits.MASK_NEEDS_INIT_IMAGE));
            }
            try {
                RequestLimits.checkImage("mask", Base64.getDecoder().decode(mask)).ifPresent(errors::add);
            } catch (IllegalArgumentException e) {
                errors.add(new FieldError("mask", "is not valid base64"));
            }
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
        if (noise != null && !RequestLimits.NOISES.contains(noise)) {
            errors.add(new FieldError("noise", "is '" + noise + "'; one of " + String.join(", ", RequestLimits.NOISES)));
        }
        errors.addAll(0, RequestLimits.check(r.prompt(), r.negativePrompt(), sideOrDefault(r.width()),
                sideOrDefault(r.height()), r.steps(),
                r.guidanceScale(), r.numImages(), r.initImage() != null, r.strength(), r.previewEvery()));
        return errors;
    }
}
