package dev.easel.engine.pipeline;

import ai.onnxruntime.OrtException;
import dev.easel.contracts.FieldError;
import dev.easel.contracts.RequestLimits;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.model.ImageUpscaler;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Jobs of an ONNX image upscaler: the init image enlarged {@link ImageUpscaler#scale} times, in tiles, one progress
 * event per tile. The prompt and the diffusion fields do not apply (the prompt may be empty); the output is one image.
 */
public final class ImageUpscalePipeline implements Pipeline {
    private final ImageUpscaler upscaler;

    public ImageUpscalePipeline(ImageUpscaler upscaler) {
        this.upscaler = upscaler;
    }

    public ImageUpscaler upscaler() {
        return upscaler;
    }

    @Override
    public String modelName() {
        return upscaler.name();
    }

    @Override
    public ModelKind kind() {
        return ModelKind.IMAGE_UPSCALER;
    }

    @Override
    public List<String> schedulers() {
        return List.of();
    }

    @Override
    public String provider() {
        return upscaler.runtime().provider();
    }

    @Override
    public JobPlan plan(GenerationRequest request) {
        if (!request.isImageToImage()) {
            throw new InvalidRequestException("initImage", "is required: " + modelName() + " enlarges a picture; send"
                    + " the picture as initImage (--init-image)");
        }
        if (request.isInpainting() || request.hires() != null || request.numImages() != 1) {
            String field = request.isInpainting() ? "mask" : request.hires() != null ? "hires" : "numImages";
            throw new InvalidRequestException(field, "does not apply to an image upscaler (" + modelName()
                    + " makes one enlarged picture); drop it");
        }
        RgbImage picture;
        try {
            picture = RgbImage.decode(request.initImage());
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("initImage", e.getMessage());
        }
        int width = picture.width() * upscaler.scale();
        int height = picture.height() * upscaler.scale();
        if (width > RequestLimits.MAX_SIDE || height > RequestLimits.MAX_SIDE) {
            throw new InvalidRequestException("initImage", "is " + picture.width() + "x" + picture.height() + ", which "
                    + modelName() + " would enlarge to " + width + "x" + height + "; the output may be at most "
                    + RequestLimits.MAX_SIDE + " on a side: send a smaller picture");
        }
        if ((request.width() != GenerationRequest.MODEL_DEFAULT_SIDE && request.width() != width)
                || (request.height() != GenerationRequest.MODEL_DEFAULT_SIDE && request.height() != height)) {
            throw new InvalidRequestException("width", "an image upscaler's output is " + width + "x" + height + ", "
                    + upscaler.scale() + " times the picture: drop width and height");
        }
        GenerationRequest sized = request.withSize(width, height);
        List<FieldError> errors = sized.validate();
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
        int tiles;
        try {
            tiles = upscaler.tiles(picture.width(), picture.height());
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("initImage", e.getMessage());
        }
        return new UpscalePlan(sized, picture, tiles);
    }

    @Override
    public synchronized GenerationResult generate(JobPlan plan, Consumer<StepProgress> progress,
            BooleanSupplier cancelled) throws OrtException {
        if (!(plan instanceof UpscalePlan job)) {
            throw new IllegalArgumentException("a plan made by another pipeline");
        }
        long start = System.nanoTime();
        upscaler.resetRunNanos();
        if (cancelled.getAsBoolean()) {
            throw new CancelledException(0);
        }
        RgbImage enlarged = upscaler.upscale(job.picture(), done -> {
            progress.accept(new StepProgress(0, done, job.tiles(), 0, Double.NaN, millisSince(start), null, 0));
            if (done < job.tiles() && cancelled.getAsBoolean()) {
                throw new CancelledException(done);
            }
        });
        String infotext = Infotext.ofUpscale(job.picture(), upscaler.scale(), modelName());
        double millis = millisSince(start);
        GenerationResult.GeneratedImage image = new GenerationResult.GeneratedImage(0, job.seed(), enlarged.width(),
                enlarged.height(), enlarged.toPng("parameters", infotext), infotext);
        return new GenerationResult(List.of(image), job.seed(), null, provider(),
                new GenerationResult.Timings(0, millis, 0, millis, upscaler.runNanos() / 1e6, 0));
    }

    /** A 16 x 16 picture (or the network's fixed tile) enlarged. */
    @Override
    public GenerationRequest warmUpRequest() {
        int side = Math.max(16, upscaler.fixedSide());
        return GenerationRequest.builder("").steps(1).seed(0L)
                .initImage(new RgbImage(side, side, new byte[side * side * 3]).toPng(null, null), 1.0).build();
    }

    @Override
    public void close() {
        try {
            upscaler.close();
        } catch (OrtException e) {
            throw new IllegalStateException("closing " + modelName() + ": " + e.getMessage(), e);
        }
    }

    private static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }
}
