package dev.easel.engine.pipeline;

import dev.easel.engine.scheduler.Schedulers;

/** AUTOMATIC1111's "parameters" text, so existing tools can read how an image was made. */
final class Infotext {
    private Infotext() {
    }

    static String of(GenerationRequest request, String scheduler, long seed, String model) {
        StringBuilder text = new StringBuilder(request.prompt());
        if (request.negativePrompt() != null && !request.negativePrompt().isEmpty()) {
            text.append("\nNegative prompt: ").append(request.negativePrompt());
        }
        text.append("\nSteps: ").append(request.steps())
                .append(", Sampler: ").append(Schedulers.infotextName(scheduler, request.karras()))
                .append(", CFG scale: ").append(format(request.guidanceScale()))
                .append(", Seed: ").append(seed)
                .append(", Size: ").append(request.width()).append('x').append(request.height())
                .append(", Model: ").append(model);
        if (request.noise() == dev.easel.engine.noise.NoiseSource.Kind.TORCH) {
            text.append(", RNG: CPU"); // A1111's name for torch.randn on a CPU generator, which this is
        }
        if (request.isImageToImage()) {
            text.append(", Denoising strength: ").append(format(request.strength()));
        }
        return text.toString();
    }

    private static String format(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
    }
}
