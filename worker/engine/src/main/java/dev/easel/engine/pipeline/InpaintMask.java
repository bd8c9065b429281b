package dev.easel.engine.pipeline;

import dev.easel.engine.image.RgbImage;

/**
 * Where inpainting repaints, as diffusers' {@code StableDiffusionInpaintPipeline} reads a mask: greyscale, resized to
 * the output with Lanczos when its size differs, then binarised at 0.5 (grey 128 and up repaints). No blur, no
 * dilation.
 */
final class InpaintMask {
    private final int width;
    private final int height;
    /** 1 where the picture is repainted, 0 where it is kept; row-major. */
    private final float[] repaint;

    private InpaintMask(int width, int height, float[] repaint) {
        this.width = width;
        this.height = height;
        this.repaint = repaint;
    }

    static InpaintMask decode(byte[] encoded, int width, int height) {
        RgbImage image = RgbImage.decode(encoded);
        RgbImage grey = RgbImage.grey(image.width(), image.height(), image.luma()).resized(width, height);
        int[] values = grey.luma();
        float[] repaint = new float[values.length];
        for (int p = 0; p < values.length; p++) {
            repaint[p] = values[p] / 255f >= 0.5f ? 1f : 0f;
        }
        return new InpaintMask(width, height, repaint);
    }

    /** Everything repainted: what an inpainting UNet is given for text-to-image and for image-to-image unmasked. */
    static InpaintMask everywhere(int width, int height) {
        float[] repaint = new float[width * height];
        java.util.Arrays.fill(repaint, 1f);
        return new InpaintMask(width, height, repaint);
    }

    /** The mask at latent size: the top-left pixel of each 8 x 8 cell (torch's nearest interpolation). */
    float[] latent() {
        int latentWidth = width / 8;
        int latentHeight = height / 8;
        float[] latent = new float[latentWidth * latentHeight];
        for (int i = 0; i < latentHeight; i++) {
            for (int j = 0; j < latentWidth; j++) {
                latent[i * latentWidth + j] = repaint[(8 * i) * width + 8 * j];
            }
        }
        return latent;
    }

    /** The picture ([3, h, w] in [-1, 1]) with the repainted part set to 0, as the inpainting UNet sees it. */
    float[] maskedPicture(float[] picture) {
        int plane = width * height;
        float[] masked = new float[picture.length];
        for (int c = 0; c < 3; c++) {
            for (int p = 0; p < plane; p++) {
                masked[c * plane + p] = repaint[p] < 0.5f ? picture[c * plane + p] : 0f;
            }
        }
        return masked;
    }
}
