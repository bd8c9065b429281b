package dev.easel.engine.pipeline;

import java.util.List;

/** The images of a job and how it went. */
public record GenerationResult(List<GeneratedImage> images, long seed, String scheduler, String executionProvider,
        Timings timings) {

    /** One PNG: image {@code index} of the request, made with {@code seed} (request seed + index). */
    public record GeneratedImage(int index, long seed, int width, int height, byte[] png, String infotext) {
    }

    /**
     * Wall time per phase and the part of it spent inside ONNX Runtime ({@code onnxRunMillis}); the rest is Easel's
     * own work (tensors, scheduler, PNG). {@code unetCalls}: ONNX Runtime calls of the UNet, fewer when images are
     * batched.
     */
    public record Timings(double textEncoderMillis, double denoiseMillis, double vaeDecodeMillis, double totalMillis,
            double onnxRunMillis, int unetCalls) {
    }
}
