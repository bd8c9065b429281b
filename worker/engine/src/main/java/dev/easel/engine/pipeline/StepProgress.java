package dev.easel.engine.pipeline;

/**
 * One denoising step done: {@code step} of {@code total} (1-based) for image {@code imageIndex}; {@code timestep} as
 * handed to the UNet; {@code sigma} (NaN for schedulers without one); {@code elapsedMillis} since the job started;
 * {@code previewPng} a small PNG of the latents when previews were asked for at this step, else null; {@code pass} the
 * hires fix's pass (1 or 2, {@code step} and {@code total} counting both), 0 for a job of one pass.
 */
public record StepProgress(int imageIndex, int step, int total, double timestep, double sigma, long elapsedMillis,
        byte[] previewPng, int pass) {

    public boolean hasSigma() {
        return !Double.isNaN(sigma);
    }
}
