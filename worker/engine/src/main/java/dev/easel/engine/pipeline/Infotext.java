package dev.easel.engine.pipeline;

import dev.easel.engine.scheduler.Schedulers;

/** AUTOMATIC1111's "parameters" text, so existing tools can read how an image was made. */
final class Infotext {
    private Infotext() {
    }

    /**
     * An image upscaler's picture, as A1111 writes its "extras" postprocessing (there is no prompt to record): the
     * factor and the upscaler, and the size it enlarged.
     */
    static String ofUpscale(dev.easel.engine.image.RgbImage picture, int scale, String upscaler) {
        return "Postprocess upscale by: " + scale + ", Postprocess upscaler: " + upscaler + ", Size: "
                + picture.width() + "x" + picture.height();
    }

    static String of(GenerationPlan plan, long seed, String model) {
        GenerationRequest request = plan.request();
        String scheduler = plan.schedulerName();
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
        if (request.hires() != null) {
            // As A1111 writes a hires fix: the first pass's size above, the second pass's settings here.
            GenerationRequest.Hires hires = request.hires();
            text.append(", Denoising strength: ").append(format(hires.denoise()))
                    .append(", Hires upscale: ").append(format(hires.scale()))
                    .append(", Hires steps: ").append(hires.steps())
                    .append(", Hires upscaler: ").append(switch (hires.upscaler()) {
                        case "latent" -> "Latent";
                        case "lanczos" -> "Lanczos";
                        default -> hires.upscaler(); // a model upscaler, by its id as A1111 writes its name
                    });
        }
        if (!plan.adapters().loras().isEmpty()) {
            // As A1111's Lora extension writes it: name and the file's short "addnet" hash, each LoRA once.
            java.util.Map<String, String> hashes = new java.util.LinkedHashMap<>();
            plan.adapters().loras().forEach(l -> hashes.put(l.lora().name(), l.lora().shortHash()));
            text.append(", Lora hashes: \"").append(join(hashes)).append('"');
        }
        if (!plan.adapters().embeddings().isEmpty()) {
            java.util.Map<String, String> hashes = new java.util.LinkedHashMap<>();
            plan.adapters().embeddings().forEach(e -> hashes.put(e.word(), e.shortHash()));
            text.append(", TI hashes: \"").append(join(hashes)).append('"');
        }
        return text.toString();
    }

    private static String join(java.util.Map<String, String> hashes) {
        return String.join(", ", hashes.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).toList());
    }

    static String format(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
    }
}
