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

    /**
     * Why {@code encoded} cannot be an init image: not PNG or JPEG, unreadable, or over the byte or pixel limit. Reads
     * only the header, so a huge picture is refused before it is decoded.
     */
    public static java.util.Optional<FieldError> checkInitImage(byte[] encoded) {
        if (encoded.length == 0) {
            return java.util.Optional.of(new FieldError("initImage", "is empty"));
        }
        if (encoded.length > MAX_INIT_IMAGE_BYTES) {
            return java.util.Optional.of(new FieldError("initImage", "has " + encoded.length + " bytes; at most "
                    + MAX_INIT_IMAGE_BYTES));
        }
        try (javax.imageio.stream.ImageInputStream in = javax.imageio.ImageIO.createImageInputStream(
                new java.io.ByteArrayInputStream(encoded))) {
            java.util.Iterator<javax.imageio.ImageReader> readers = javax.imageio.ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                return java.util.Optional.of(new FieldError("initImage", "is not a PNG or JPEG image"));
            }
            javax.imageio.ImageReader reader = readers.next();
            try {
                String format = reader.getFormatName().toLowerCase(java.util.Locale.ROOT);
                if (!format.equals("png") && !format.equals("jpeg")) {
                    return java.util.Optional.of(new FieldError("initImage", "is " + format + "; send a PNG or JPEG"));
                }
                reader.setInput(in, true, true);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > MAX_INIT_IMAGE_PIXELS) {
                    return java.util.Optional.of(new FieldError("initImage", "is " + reader.getWidth(0) + "x"
                            + reader.getHeight(0) + "; at most " + MAX_INIT_IMAGE_PIXELS + " pixels"));
                }
            } finally {
                reader.dispose();
            }
        } catch (java.io.IOException | RuntimeException e) {
            return java.util.Optional.of(new FieldError("initImage", "cannot be read as an image: " + e.getMessage()));
        }
        return java.util.Optional.empty();
    }

    private static void side(String field, int value, List<FieldError> errors) {
        if (value < MIN_SIDE || value > MAX_SIDE || value % 8 != 0) {
            errors.add(new FieldError(field, "is " + value + "; must be a multiple of 8 between " + MIN_SIDE + " and "
                    + MAX_SIDE));
        }
    }
}
