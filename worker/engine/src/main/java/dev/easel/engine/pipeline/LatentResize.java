package dev.easel.engine.pipeline;

/**
 * Latents enlarged as {@code torch.nn.functional.interpolate(mode="bilinear", align_corners=False, antialias=False)}
 * does (AUTOMATIC1111's "Latent" hires upscaler): per axis, output index o samples the input at
 * {@code max((o + 0.5) x in / out - 0.5, 0)}, weighting its two neighbours linearly (the last one repeated at the edge).
 */
final class LatentResize {
    private LatentResize() {
    }

    /** {@code values} [channels, height, width] resized to [channels, targetHeight, targetWidth]. */
    static float[] bilinear(float[] values, int channels, int height, int width, int targetHeight, int targetWidth) {
        float[] out = new float[channels * targetHeight * targetWidth];
        float scaleH = (float) height / targetHeight;
        float scaleW = (float) width / targetWidth;
        for (int y = 0; y < targetHeight; y++) {
            float srcY = Math.max(scaleH * (y + 0.5f) - 0.5f, 0f);
            int y0 = (int) srcY;
            int y1 = Math.min(y0 + 1, height - 1);
            float ly1 = srcY - y0;
            float ly0 = 1f - ly1;
            for (int x = 0; x < targetWidth; x++) {
                float srcX = Math.max(scaleW * (x + 0.5f) - 0.5f, 0f);
                int x0 = (int) srcX;
                int x1 = Math.min(x0 + 1, width - 1);
                float lx1 = srcX - x0;
                float lx0 = 1f - lx1;
                for (int c = 0; c < channels; c++) {
                    int base = c * height * width;
                    float value = ly0 * (lx0 * values[base + y0 * width + x0] + lx1 * values[base + y0 * width + x1])
                            + ly1 * (lx0 * values[base + y1 * width + x0] + lx1 * values[base + y1 * width + x1]);
                    out[(c * targetHeight + y) * targetWidth + x] = value;
                }
            }
        }
        return out;
    }
}
