package dev.easel.engine.scheduler;

import dev.easel.engine.noise.NoiseSource;

/**
 * A denoising scheduler in the manner of diffusers: built from a {@link SchedulerConfig}, prepared with
 * {@link #setTimesteps}, then advanced one model evaluation at a time with {@link #step}. Samples are flat float
 * arrays (one image's latents) updated in place, so the denoising loop allocates nothing per step.
 */
public interface Scheduler {

    /** Prepares a run of {@code steps} inference steps and resets all multistep state. */
    void setTimesteps(int steps);

    /** The timestep handed to the model at each model evaluation (index = step index). */
    double[] timesteps();

    /** The sigma of each model evaluation, or null for schedulers that do not work in sigma space. */
    double[] sigmas();

    /** The standard deviation the initial latent noise is scaled by. */
    double initNoiseSigma();

    /** The factor the sample is multiplied by before it goes to the model ({@code scale_model_input}). */
    double modelInputScale(int stepIndex);

    /**
     * Advances {@code sample} in place from step {@code stepIndex} to the next one, given the model output there.
     * Stochastic schedulers draw their fresh noise from {@code noise}.
     */
    void step(float[] modelOutput, int stepIndex, float[] sample, NoiseSource noise);

    /** Noises clean latents in place to the level of step {@code stepIndex} (image-to-image start). */
    void addNoise(float[] originalSamples, float[] noise, int stepIndex);

    /** How many model evaluations one inference step takes (2 for Heun). */
    default int order() {
        return 1;
    }
}
