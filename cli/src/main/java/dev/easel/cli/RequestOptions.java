package dev.easel.cli;

import dev.easel.contracts.JobRequest;
import dev.easel.engine.pipeline.InvalidRequestException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Set;

/** The generation options {@code run} and {@code generate} share, turned into a job request. */
final class RequestOptions {
    static final Set<String> OPTIONS = Set.of("negative-prompt", "steps", "guidance", "scheduler", "timestep-spacing",
            "seed", "width", "height", "num-images", "init-image", "strength", "preview-every", "noise", "mask",
            "prompt-syntax");
    static final Set<String> FLAGS = Set.of("karras");

    private RequestOptions() {
    }

    static JobRequest parse(Arguments arguments, String prompt) throws IOException {
        String initImage = null;
        Double strength = null;
        String initPath = arguments.value("init-image");
        if (initPath != null) {
            Path path = Path.of(initPath);
            if (!Files.isReadable(path)) {
                throw new InvalidRequestException("initImage", "file " + path + " cannot be read");
            }
            initImage = Base64.getEncoder().encodeToString(Files.readAllBytes(path));
            strength = arguments.doubleValue("strength", JobRequest.DEFAULT_STRENGTH);
        } else if (arguments.value("strength") != null) {
            throw new UsageException("--strength needs --init-image");
        }
        String mask = null;
        String maskPath = arguments.value("mask");
        if (maskPath != null) {
            if (initPath == null) {
                throw new UsageException("--mask needs --init-image (the picture whose white mask area is repainted)");
            }
            Path path = Path.of(maskPath);
            if (!Files.isReadable(path)) {
                throw new InvalidRequestException("mask", "file " + path + " cannot be read");
            }
            mask = Base64.getEncoder().encodeToString(Files.readAllBytes(path));
        }
        int previewEvery = arguments.intValue("preview-every", 0);
        return new JobRequest(prompt,
                arguments.value("negative-prompt", ""),
                arguments.value("width") == null ? null : arguments.intValue("width", 0),
                arguments.value("height") == null ? null : arguments.intValue("height", 0),
                arguments.intValue("steps", JobRequest.DEFAULT_STEPS),
                arguments.doubleValue("guidance", JobRequest.DEFAULT_GUIDANCE),
                arguments.value("scheduler"),
                arguments.flag("karras"),
                arguments.value("timestep-spacing"),
                arguments.longValue("seed"),
                arguments.intValue("num-images", 1),
                null,
                initImage,
                strength,
                previewEvery > 0,
                previewEvery > 0 ? previewEvery : null,
                arguments.value("noise"),
                mask,
                arguments.value("prompt-syntax"),
                null);
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
