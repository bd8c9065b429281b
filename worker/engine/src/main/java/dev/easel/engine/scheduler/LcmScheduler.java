package dev.easel.engine.scheduler;

import dev.easel.engine.noise.NoiseSource;

/**
 * Latent Consistency Model multistep sampling: diffusers' {@code LCMScheduler}. Each step jumps to a denoised estimate
 * and re-noises it to the next timestep with fresh noise; it is meant for few steps (2 to 8) with LCM weights.
 */
final class LcmScheduler extends AlphaScheduler {
    private static final double SIGMA_DATA = 0.5;
    private final int originalSteps;
    private final double timestepScaling;
    private float[] original;

    LcmScheduler(SchedulerConfig config) {
        super(config, "leading", true);
        this.originalSteps = config.intValue("original_inference_steps", 50);
        this.timestepScaling = config.doubleValue("timestep_scaling", 10.0);
    }


    @Override
    public void setTimesteps(int steps) {
        requireSteps(steps);
        int k = trainTimesteps / originalSteps;
        int[] origin = new int[originalSteps];
        for (int i = 0; i < originalSteps; i++) {
            origin[i] = (originalSteps - i) * k - 1;
        }
        if (origin.length / steps < 1) {
            throw new IllegalArgumentException("lcm supports at most " + originalSteps + " steps (its original_inference_steps), got " + steps);
        }
        inferenceSteps = steps;
        timesteps = new double[steps];
        double stride = (double) origin.length / steps;
        for (int i = 0; i < steps; i++) {
            timesteps[i] = origin[(int) Math.floor(i * stride)];
        }
    }

    private float[] fresh;

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, NoiseSource noise) {
        int timestep = (int) timesteps[stepIndex];
        int previous = stepIndex + 1 < timesteps.length ? (int) timesteps[stepIndex + 1] : timestep;
        float alpha = schedule.alphaCumprod(timestep);
        float alphaPrevious = alphaAt(previous);
        double scaled = timestep * timestepScaling;
        double skip = SIGMA_DATA * SIGMA_DATA / (scaled * scaled + SIGMA_DATA * SIGMA_DATA);
        double out = scaled / Math.sqrt(scaled * scaled + SIGMA_DATA * SIGMA_DATA);
        if (original == null || original.length != sample.length) {
            original = new float[sample.length];
        }
        predictOriginal(modelOutput, sample, alpha, original);
        boolean last = stepIndex == timesteps.length - 1;
        double signal = Math.sqrt(alphaPrevious);
        double noiseScale = Math.sqrt(1.0 - alphaPrevious);
        if (!last) {
            if (fresh == null || fresh.length != sample.length) {
                fresh = new float[sample.length];
            }
            noise.fill(fresh); // one draw per step but the last, as diffusers draws it
        }
        for (int i = 0; i < sample.length; i++) {
            double denoised = out * original[i] + skip * sample[i];
            sample[i] = (float) (last ? denoised : signal * denoised + noiseScale * fresh[i]);
        }
    }
}
