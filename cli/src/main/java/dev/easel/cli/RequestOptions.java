package dev.easel.cli;

import dev.easel.contracts.JobRequest;
import dev.easel.engine.pipeline.InvalidRequestException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The generation options {@code run} and {@code generate} share, turned into a job request: one flag per request field
 * ({@link #FLAGS_BY_FIELD}), absent flags leaving the field absent so the contract's defaults apply.
 */
final class RequestOptions {
    /**
     * The request field each flag sets. {@code --preview-every N} sets both {@code preview} and {@code previewEvery};
     * {@code model} is {@code run}'s model folder or {@code generate}'s served model id ({@code --model}, parsed by each
     * command); {@code webhook} is for services (the CLI follows the job itself).
     */
    static final Map<String, String> FLAGS_BY_FIELD = Map.ofEntries(
            Map.entry("prompt", "prompt"), Map.entry("negativePrompt", "negative-prompt"),
            Map.entry("width", "width"), Map.entry("height", "height"), Map.entry("steps", "steps"),
            Map.entry("guidanceScale", "guidance"), Map.entry("scheduler", "scheduler"), Map.entry("karras", "karras"),
            Map.entry("timestepSpacing", "timestep-spacing"), Map.entry("seed", "seed"),
            Map.entry("numImages", "num-images"), Map.entry("model", "model"), Map.entry("initImage", "init-image"),
            Map.entry("strength", "strength"), Map.entry("preview", "preview-every"),
            Map.entry("previewEvery", "preview-every"), Map.entry("noise", "noise"), Map.entry("mask", "mask"),
            Map.entry("promptSyntax", "prompt-syntax"), Map.entry("loras", "lora"), Map.entry("hires", "hires-scale"),
            Map.entry("noiseLevel", "noise-level"));
    /** The hires fix's flags besides --hires-scale (any of them turns the hires fix on). */
    static final Set<String> HIRES_FLAGS = Set.of("hires-scale", "hires-steps", "hires-denoise", "hires-upscaler");
    /** Request fields the CLI has no flag for, and why: see {@link #FLAGS_BY_FIELD}. */
    static final Set<String> SERVICE_ONLY_FIELDS = Set.of("webhook");
    static final Set<String> FLAGS = Set.of("karras");
    /** The value options; {@code prompt} and {@code model} are each command's own (generate takes a positional prompt). */
    static final Set<String> OPTIONS = java.util.stream.Stream.concat(FLAGS_BY_FIELD.values().stream(),
                    HIRES_FLAGS.stream())
            .filter(flag -> !FLAGS.contains(flag) && !flag.equals("prompt") && !flag.equals("model"))
            .collect(java.util.stream.Collectors.toUnmodifiableSet());

    private RequestOptions() {
    }

    static JobRequest parse(Arguments arguments, String prompt) throws IOException {
        String initImage = null;
        String initPath = arguments.value("init-image");
        if (initPath != null) {
            initImage = base64File("initImage", initPath);
        } else if (arguments.value("strength") != null) {
            throw new UsageException("--strength needs --init-image");
        }
        String mask = null;
        String maskPath = arguments.value("mask");
        if (maskPath != null) {
            if (initPath == null) {
                throw new UsageException("--mask needs --init-image (the picture whose white mask area is repainted)");
            }
            mask = base64File("mask", maskPath);
        }
        Integer previewEvery = arguments.intValue("preview-every");
        boolean previews = previewEvery != null && previewEvery > 0;
        return JobRequest.builder(prompt)
                .negativePrompt(arguments.value("negative-prompt"))
                .size(arguments.intValue("width"), arguments.intValue("height"))
                .steps(arguments.intValue("steps"))
                .guidanceScale(arguments.doubleValue("guidance"))
                .scheduler(arguments.value("scheduler"))
                .karras(arguments.flag("karras") ? Boolean.TRUE : null)
                .timestepSpacing(arguments.value("timestep-spacing"))
                .seed(arguments.longValue("seed"))
                .numImages(arguments.intValue("num-images"))
                .initImage(initImage)
                .strength(arguments.doubleValue("strength"))
                .preview(previews ? Boolean.TRUE : null)
                .previewEvery(previews ? previewEvery : null)
                .noise(arguments.value("noise"))
                .mask(mask)
                .promptSyntax(arguments.value("prompt-syntax"))
                .loras(loras(arguments.values("lora")))
                .noiseLevel(arguments.intValue("noise-level"))
                .hires(HIRES_FLAGS.stream().anyMatch(flag -> arguments.value(flag) != null)
                        ? new JobRequest.Hires(arguments.doubleValue("hires-scale"), arguments.value("hires-upscaler"),
                                arguments.intValue("hires-steps"), arguments.doubleValue("hires-denoise"))
                        : null)
                .build();
    }

    /** {@code --lora NAME[:WEIGHT]}, repeatable; null when none is given. */
    private static List<JobRequest.Lora> loras(List<String> values) {
        if (values.isEmpty()) {
            return null;
        }
        List<JobRequest.Lora> loras = new java.util.ArrayList<>();
        for (String value : values) {
            int colon = value.lastIndexOf(':');
            if (colon < 0) {
                loras.add(new JobRequest.Lora(value, null));
                continue;
            }
            try {
                loras.add(new JobRequest.Lora(value.substring(0, colon), Double.parseDouble(value.substring(colon + 1))));
            } catch (NumberFormatException e) {
                throw new UsageException("--lora takes NAME or NAME:WEIGHT, got '" + value + "'");
            }
        }
        return loras;
    }

    private static String base64File(String field, String file) throws IOException {
        Path path = Path.of(file);
        if (!Files.isReadable(path)) {
            throw new InvalidRequestException(field, "file " + path + " cannot be read");
        }
        return Base64.getEncoder().encodeToString(Files.readAllBytes(path));
    }

    /** The file for image {@code index} of {@code count}: {@code out} itself for one image, else -1, -2... */
    static Path outputFor(Path out, int index, int count) {
        if (count == 1) {
            return out;
        }
        String name = out.getFileName().toString();
        return out.resolveSibling(name.substring(0, name.length() - 4) + "-" + (index + 1) + ".png");
    }

    static Path outputOption(Arguments arguments) {
        Path output = Path.of(arguments.value("out", "easel.png"));
        if (!output.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".png")) {
            throw new UsageException("--out must name a .png file, got '" + output + "'");
        }
        return output;
    }
}
