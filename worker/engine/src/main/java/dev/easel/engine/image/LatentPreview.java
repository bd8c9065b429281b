package dev.easel.engine.image;

/**
 * A cheap preview of latents: a fixed linear map from the latent channels to RGB, one pixel per latent pixel, instead
 * of a VAE decode every step.
 */
public final class LatentPreview {
    /**
     * The widely used linear approximation of the Stable Diffusion 1.x VAE (the factors ComfyUI publishes for its SD
     * 1.5 previews). A model folder can carry its own in {@code vae_decoder/config.json} as {@code latent_rgb_factors}.
     */
    public static final float[][] SD1_FACTORS = {
        {0.3512f, 0.2297f, 0.3227f},
        {0.3250f, 0.4974f, 0.2350f},
        {-0.2829f, 0.1762f, 0.2721f},
        {-0.2120f, -0.2616f, -0.7177f}};

    private final float[][] factors;

    /** {@code factors[channel][rgb]}: the contribution of each latent channel to red, green and blue in [-1, 1]. */
    public LatentPreview(float[][] factors) {
        this.factors = factors;
    }

    /** Renders latents [channels, height, width] (unscaled diffusion latents) as an RGB image of the latent size. */
    public RgbImage render(float[] latents, int height, int width) {
        int plane = height * width;
        byte[] rgb = new byte[plane * 3];
        int channels = Math.min(factors.length, latents.length / plane);
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) {
                float value = 0;
                for (int channel = 0; channel < channels; channel++) {
                    value += latents[channel * plane + p] * factors[channel][c];
                }
                float unit = Math.max(0, Math.min(1, value / 2 + 0.5f));
                rgb[p * 3 + c] = (byte) Math.round(unit * 255);
            }
        }
        return new RgbImage(width, height, rgb);
    }
}
