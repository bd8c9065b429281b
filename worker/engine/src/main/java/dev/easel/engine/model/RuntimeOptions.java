package dev.easel.engine.model;

import java.util.Locale;

/**
 * How ONNX Runtime runs the model. {@code device} is {@code auto} (CUDA when this build and the host have it, else
 * CPU), {@code cuda} or {@code cpu}; thread counts of 0 let ONNX Runtime choose. {@code maxBatchImages} bounds how
 * many images of a request share one UNet call (each with both guidance halves): more costs activation memory; 0
 * chooses by device ({@link OrtRuntime#maxBatchImages}). {@code upscaleTile} is the side, in pixels of the picture
 * being enlarged, of the tiles an upscaler works in (0: {@link #DEFAULT_UPSCALE_TILE}); a picture within one tile is
 * enlarged whole. {@code withoutT5} runs SD3 models without their T5 encoder (zeros in its place, as diffusers does
 * with {@code text_encoder_3=None}): T5-XXL alone is 9.5 GB in half precision.
 */
public record RuntimeOptions(String device, int cudaDeviceId, int intraOpThreads, int interOpThreads,
        int maxBatchImages, int upscaleTile, boolean withoutT5) {
    /** Images per UNet call chosen by device unless EASEL_MAX_BATCH_IMAGES says otherwise. */
    public static final int AUTO_BATCH = 0;
    /**
     * 128 input pixels a side: the x4 upscaler's UNet then attends over 128 x 128 latents and its VAE writes 512 x 512,
     * what the reference pipeline runs in one piece on an 8 GB GPU.
     */
    public static final int DEFAULT_UPSCALE_TILE = 128;
    /** The smallest tile: an overlap of a quarter of it must still leave the UNet's downsampling whole cells. */
    public static final int MIN_UPSCALE_TILE = 16;

    /** Options with the default batch bound and tiles. */
    public RuntimeOptions(String device, int cudaDeviceId, int intraOpThreads, int interOpThreads) {
        this(device, cudaDeviceId, intraOpThreads, interOpThreads, AUTO_BATCH, 0, false);
    }

    public RuntimeOptions {
        device = device == null ? "auto" : device.toLowerCase(Locale.ROOT);
        if (!device.equals("auto") && !device.equals("cuda") && !device.equals("cpu")) {
            throw new IllegalArgumentException("device '" + device + "' is not one of auto, cuda, cpu");
        }
        if (cudaDeviceId < 0) {
            throw new IllegalArgumentException("CUDA device id must be 0 or more, got " + cudaDeviceId);
        }
        if (intraOpThreads < 0 || interOpThreads < 0) {
            throw new IllegalArgumentException("thread counts must be 0 (automatic) or more");
        }
        if (maxBatchImages < 0) {
            throw new IllegalArgumentException("EASEL_MAX_BATCH_IMAGES must be 0 (by device) or more, got "
                    + maxBatchImages);
        }
        if (upscaleTile == 0) {
            upscaleTile = DEFAULT_UPSCALE_TILE;
        }
        if (upscaleTile < MIN_UPSCALE_TILE || upscaleTile % 8 != 0) {
            throw new IllegalArgumentException("EASEL_UPSCALE_TILE must be a multiple of 8 of at least "
                    + MIN_UPSCALE_TILE + " (0: " + DEFAULT_UPSCALE_TILE + "), got " + upscaleTile);
        }
    }

    public static RuntimeOptions defaults() {
        return new RuntimeOptions("auto", 0, 0, 0);
    }

    /**
     * Options from the environment: EASEL_DEVICE, EASEL_CUDA_DEVICE, EASEL_INTRA_OP_THREADS, EASEL_INTER_OP_THREADS,
     * EASEL_MAX_BATCH_IMAGES, EASEL_UPSCALE_TILE, EASEL_SD3_WITHOUT_T5 (true to leave T5 out).
     */
    public static RuntimeOptions fromEnvironment() {
        return new RuntimeOptions(
                System.getenv().getOrDefault("EASEL_DEVICE", "auto"),
                intFromEnv("EASEL_CUDA_DEVICE"),
                intFromEnv("EASEL_INTRA_OP_THREADS"),
                intFromEnv("EASEL_INTER_OP_THREADS"),
                intFromEnv("EASEL_MAX_BATCH_IMAGES"),
                intFromEnv("EASEL_UPSCALE_TILE"),
                Boolean.parseBoolean(System.getenv().getOrDefault("EASEL_SD3_WITHOUT_T5", "false").strip()));
    }

    /** A copy with another bound on images per UNet call. */
    public RuntimeOptions withMaxBatchImages(int images) {
        return new RuntimeOptions(device, cudaDeviceId, intraOpThreads, interOpThreads, images, upscaleTile,
                withoutT5);
    }

    /** A copy whose upscalers work in tiles of {@code side} input pixels. */
    public RuntimeOptions withUpscaleTile(int side) {
        return new RuntimeOptions(device, cudaDeviceId, intraOpThreads, interOpThreads, maxBatchImages, side,
                withoutT5);
    }

    /** A copy that runs SD3 models with ({@code false}) or without ({@code true}) their T5 encoder. */
    public RuntimeOptions withoutT5(boolean without) {
        return new RuntimeOptions(device, cudaDeviceId, intraOpThreads, interOpThreads, maxBatchImages, upscaleTile,
                without);
    }

    /** Cells two neighbouring tiles share: a quarter of a tile, enough for the blend to hide the seam. */
    public int upscaleTileOverlap() {
        return upscaleTile / 4;
    }

    private static int intFromEnv(String name) {
        String value = System.getenv(name);
        if (value == null || value.isBlank()) {
            return 0;
        }
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number, got '" + value + "'");
        }
    }
}
