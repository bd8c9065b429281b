package dev.easel.contracts;

import java.util.ArrayList;
import java.util.List;

/** The limits every generation request obeys, in the CLI and in the service alike. */
public final class RequestLimits {
    public static final int MAX_PROMPT_CHARS = 4000;
    public static final int MIN_SIDE = 64;
    public static final int MAX_SIDE = 2048;
    public static final int MAX_STEPS = 150;
    public static final double MAX_GUIDANCE = 50;
    public static final int MAX_IMAGES = 16;
    /** An init image's encoded size and pixel count: a decoded picture must not cost a worker more than an output. */
    public static final int MAX_INIT_IMAGE_BYTES = 16 * 1024 * 1024;
    public static final long MAX_INIT_IMAGE_PIXELS = (long) MAX_SIDE * MAX_SIDE;
    /** The schedulers Easel offers, by the names requests use. */
    public static final List<String> SCHEDULERS =
            List.of("ddim", "pndm", "euler", "euler_a", "lms", "heun", "dpmpp_2m", "unipc", "lcm");
    /** The schedulers with Karras sigmas (where diffusers offers them). */
    public static final List<String> KARRAS_SCHEDULERS = List.of("euler", "lms", "heun", "dpmpp_2m", "unipc");
    public static final List<String> TIMESTEP_SPACINGS = List.of("linspace", "leading", "trailing");
    /** Noise sources: Easel's generator, or torch.randn on a CPU generator (diffusers' and ComfyUI's seeds). */
    public static final List<String> NOISES = List.of("easel", "torch");
    /** How prompts are read: AUTOMATIC1111's weights and chunks, or plain text as diffusers reads it. */
    public static final List<String> PROMPT_SYNTAXES = List.of("a1111", "plain");
    /** An init image's or mask's largest encoded size and pixel count. */
    public record ImageBounds(long maxBytes, long maxPixels) {
        /** What the engine takes; a service may allow less. */
        public static final ImageBounds ENGINE = new ImageBounds(MAX_INIT_IMAGE_BYTES, MAX_INIT_IMAGE_PIXELS);
    }

    /** LoRAs one job may apply (the loras field and the prompt's tags together). */
    public static final int MAX_LORAS = 8;
    /** A LoRA's multiplier, either sign. */
    public static final double MAX_LORA_WEIGHT = 10;
    /**
     * 75-token chunks one prompt may take: each adds 77 positions of cross-attention context, so an unbounded prompt
     * could exhaust a GPU. The gateway refuses prompts whose BREAKs alone pass it; the engine counts exactly.
     */
    public static final int MAX_PROMPT_CHUNKS = 8;

    public static final String MASK_NEEDS_INIT_IMAGE =
            "applies to inpainting only: send initImage (the picture to repaint) with it, or drop it";

    private RequestLimits() {
    }

    /**
     * Every field out of bounds. {@code hasInitImage} turns on the strength checks; {@code previewEvery} 0 means no
     * previews.
     */
    public static List<FieldError> check(String prompt, String negativePrompt, int width, int height, int steps,
            double guidanceScale, int numImages, boolean hasInitImage, double strength, int previewEvery) {
        List<FieldError> errors = new ArrayList<>();
        if (prompt == null) {
            errors.add(new FieldError("prompt", "is required"));
        } else {
            text("prompt", prompt, errors);
        }
        if (negativePrompt != null) {
            text("negativePrompt", negativePrompt, errors);
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
        if (hasInitImage) {
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

    /** The scheduler choice: a known name, Karras only where offered, a known spacing. */
    public static List<FieldError> checkScheduler(String scheduler, boolean karras, String timestepSpacing) {
        List<FieldError> errors = new ArrayList<>();
        if (scheduler != null && !SCHEDULERS.contains(scheduler)) {
            errors.add(new FieldError("scheduler", "'" + scheduler + "' is unknown; choose one of "
                    + String.join(", ", SCHEDULERS)));
        } else if (karras && scheduler != null && !KARRAS_SCHEDULERS.contains(scheduler)) {
            errors.add(new FieldError("karras", "scheduler " + scheduler + " has no Karras sigmas; use karras with one of "
                    + String.join(", ", KARRAS_SCHEDULERS)));
        }
        if (timestepSpacing != null && !TIMESTEP_SPACINGS.contains(timestepSpacing)) {
            errors.add(new FieldError("timestepSpacing", "'" + timestepSpacing + "' is not one of "
                    + String.join(", ", TIMESTEP_SPACINGS)));
        }
        return errors;
    }

    /** A picture's size, from its header. */
    public record ImageSize(int width, int height) {
        public long pixels() {
            return (long) width * height;
        }
    }

    /**
     * The size of a PNG or JPEG, read from its header only (a huge picture is measured without being decoded);
     * {@link IllegalArgumentException} saying what is wrong when it is neither or cannot be read.
     */
    public static ImageSize imageSize(byte[] encoded) {
        try (javax.imageio.stream.ImageInputStream in = javax.imageio.ImageIO.createImageInputStream(
                new java.io.ByteArrayInputStream(encoded))) {
            java.util.Iterator<javax.imageio.ImageReader> readers = javax.imageio.ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new IllegalArgumentException("is not a PNG or JPEG image");
            }
            javax.imageio.ImageReader reader = readers.next();
            try {
                String format = reader.getFormatName().toLowerCase(java.util.Locale.ROOT);
                if (!format.equals("png") && !format.equals("jpeg")) {
                    throw new IllegalArgumentException("is " + format + "; send a PNG or JPEG");
                }
                reader.setInput(in, true, true);
                return new ImageSize(reader.getWidth(0), reader.getHeight(0));
            } finally {
                reader.dispose();
            }
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot be read as an image: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("cannot be read as an image: " + e.getMessage(), e);
        }
    }

    /**
     * Why {@code encoded} cannot be the init image or mask {@code field}: not PNG or JPEG, unreadable, or over the
     * byte or pixel limit. Reads only the header, so a huge picture is refused before it is decoded.
     */
    public static java.util.Optional<FieldError> checkImage(String field, byte[] encoded, ImageBounds bounds) {
        if (encoded.length == 0) {
            return java.util.Optional.of(new FieldError(field, "is empty"));
        }
        if (encoded.length > bounds.maxBytes()) {
            return java.util.Optional.of(new FieldError(field, "has " + encoded.length + " bytes; at most "
                    + bounds.maxBytes()));
        }
        ImageSize size;
        try {
            size = imageSize(encoded);
        } catch (IllegalArgumentException e) {
            return java.util.Optional.of(new FieldError(field, e.getMessage()));
        }
        if (size.pixels() > bounds.maxPixels()) {
            return java.util.Optional.of(new FieldError(field, "is " + size.width() + "x" + size.height()
                    + "; at most " + bounds.maxPixels() + " pixels"));
        }
        return java.util.Optional.empty();
    }

    private static void side(String field, int value, List<FieldError> errors) {
        if (value < MIN_SIDE || value > MAX_SIDE || value % 8 != 0) {
            errors.add(new FieldError(field, "is " + value + "; must be a multiple of 8 between " + MIN_SIDE + " and "
                    + MAX_SIDE));
        }
    }

    /**
     * A prompt: at most {@link #MAX_PROMPT_CHARS} characters, well-formed Unicode (no lone surrogate halves) and no
     * control characters but tab and line breaks, which no tokenizer reads as text.
     */
    private static void text(String field, String value, List<FieldError> errors) {
        if (value.length() > MAX_PROMPT_CHARS) {
            errors.add(new FieldError(field, "has " + value.length() + " characters; at most " + MAX_PROMPT_CHARS));
            return;
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                errors.add(new FieldError(field, "has a lone UTF-16 surrogate at index " + i + "; send valid Unicode"));
                return;
            } else if (Character.isISOControl(c) && c != '\n' && c != '\r' && c != '\t') {
                errors.add(new FieldError(field, "has the control character U+" + String.format("%04X", (int) c)
                        + " at index " + i + "; of the control characters only tab and line breaks are allowed"));
                return;
            }
        }
    }

    /**
     * The LoRAs a job asks for ({@code loras} and the prompt's tags): at most {@link #MAX_LORAS}, each with a name and
     * a multiplier within {@link #MAX_LORA_WEIGHT}; and the chunks the prompts take at least, within
     * {@link #MAX_PROMPT_CHUNKS}.
     */
    public static List<FieldError> checkAdapters(String prompt, String negativePrompt, List<JobRequest.Lora> loras) {
        List<FieldError> errors = new ArrayList<>();
        if (prompt == null) {
            return errors;
        }
        PromptTags.Parsed tags;
        try {
            tags = PromptTags.parse(prompt);
        } catch (IllegalArgumentException e) {
            errors.add(new FieldError("prompt", e.getMessage()));
            return errors;
        }
        int count = tags.loras().size() + (loras == null ? 0 : loras.size());
        if (count > MAX_LORAS) {
            errors.add(new FieldError("loras", "asks for " + count + " LoRAs (loras and <lora:...> tags together); at"
                    + " most " + MAX_LORAS));
        }
        List<PromptTags.LoraWeight> all = new ArrayList<>(tags.loras());
        if (loras != null) {
            for (JobRequest.Lora lora : loras) {
                if (lora == null || lora.name() == null || lora.name().isBlank()) {
                    errors.add(new FieldError("loras", "each LoRA needs a name"));
                    return errors;
                }
                all.add(new PromptTags.LoraWeight(lora.name(), lora.weightOrDefault()));
            }
        }
        for (PromptTags.LoraWeight lora : all) {
            if (!isLoraName(lora.name())) {
                errors.add(new FieldError("loras", "'" + lora.name() + "' is not a LoRA name: a file name without its"
                        + " .safetensors, at most 200 characters, no '/', '\\', ':', '<' or '>', not starting with '.'"));
            } else if (!(Math.abs(lora.weight()) <= MAX_LORA_WEIGHT)) {
                errors.add(new FieldError("loras", "LoRA " + lora.name() + " has the weight " + lora.weight()
                        + "; at most " + MAX_LORA_WEIGHT + " either way"));
            }
        }
        for (String[] text : new String[][] {{"prompt", prompt}, {"negativePrompt", negativePrompt}}) {
            if (text[1] != null && PromptTags.minimumChunks(text[1]) > MAX_PROMPT_CHUNKS) {
                errors.add(new FieldError(text[0], "takes at least " + PromptTags.minimumChunks(text[1])
                        + " chunks of 75 tokens (its BREAKs); at most " + MAX_PROMPT_CHUNKS));
            }
        }
        return errors;
    }

    /** The x4 upscaler's noise level, at most this (its max_noise_level is 350). */
    public static final int MAX_NOISE_LEVEL = 1000;
    /** Hires fix: the enlargement, at most this. */
    public static final double MAX_HIRES_SCALE = 4;

    /**
     * A hires fix: text-to-image only, a known upscaler, a scale in (1, 4] whose enlarged sides stay within
     * {@link #MAX_SIDE}, steps and denoise as a pass of image-to-image takes them.
     */
    public static List<FieldError> checkHires(JobRequest.Hires hires, int width, int height, int steps,
            boolean imageToImage) {
        List<FieldError> errors = new ArrayList<>();
        if (imageToImage) {
            errors.add(new FieldError("hires", "applies to text-to-image only; drop initImage or hires"));
        }
        double scale = hires.scaleOrDefault();
        if (!(scale > 1 && scale <= MAX_HIRES_SCALE)) {
            errors.add(new FieldError("hires.scale", "is " + scale + "; must be more than 1 and at most "
                    + MAX_HIRES_SCALE));
        } else if (hires.scaled(width) > MAX_SIDE || hires.scaled(height) > MAX_SIDE) {
            errors.add(new FieldError("hires.scale", "makes " + hires.scaled(width) + "x" + hires.scaled(height)
                    + "; the output may be at most " + MAX_SIDE + " on a side"));
        }
        if (!JobRequest.Hires.UPSCALERS.contains(hires.upscalerOrDefault())
                && !Topics.isValidModelId(hires.upscaler())) {
            errors.add(new FieldError("hires.upscaler", "is '" + hires.upscaler() + "'; one of "
                    + String.join(", ", JobRequest.Hires.UPSCALERS) + ", or the id of an image upscaler model"));
        }
        int hiresSteps = hires.stepsOr(steps);
        if (hiresSteps < 1 || hiresSteps > MAX_STEPS) {
            errors.add(new FieldError("hires.steps", "is " + hiresSteps + "; must be between 1 and " + MAX_STEPS));
        }
        double denoise = hires.denoiseOrDefault();
        if (!(denoise > 0 && denoise <= 1)) {
            errors.add(new FieldError("hires.denoise", "is " + denoise + "; must be in (0, 1]"));
        } else if ((int) (hiresSteps * denoise) < 1) {
            errors.add(new FieldError("hires.denoise", "is " + denoise + "; with " + hiresSteps + " steps it leaves no"
                    + " denoising step (steps x denoise must be at least 1)"));
        }
        return errors;
    }

    /** Whether {@code name} can name a file in a LoRA folder and nothing outside it. */
    public static boolean isLoraName(String name) {
        return name.matches("(?!\\.)[^/\\\\:<>\\p{Cntrl}]{1,200}");
    }

    /** A webhook's URL (absolute http or https, at most 2048 characters) and event names. */
    public static List<FieldError> checkWebhook(String url, List<String> events) {
        List<FieldError> errors = new ArrayList<>();
        java.net.URI uri = null;
        if (url != null && url.length() <= 2048) {
            try {
                uri = new java.net.URI(url);
            } catch (java.net.URISyntaxException e) {
                uri = null;
            }
        }
        if (uri == null || uri.getHost() == null || uri.getUserInfo() != null
                || !("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme()))) {
            errors.add(new FieldError("webhook.url", "must be an absolute http or https URL with a host and no user"
                    + " info, at most 2048 characters"));
        }
        if (events != null) {
            for (String event : events) {
                if (!JobRequest.Webhook.EVENTS.contains(event)) {
                    errors.add(new FieldError("webhook.events", "has '" + event + "'; events are "
                            + String.join(", ", JobRequest.Webhook.EVENTS)));
                }
            }
        }
        return errors;
    }
}
