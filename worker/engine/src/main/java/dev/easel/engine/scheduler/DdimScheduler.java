package dev.easel.engine.scheduler;

import dev.easel.engine.noise.NoiseSource;

/** DDIM (eta = 0): diffusers' {@code DDIMScheduler}. */
final class DdimScheduler extends AlphaScheduler {
    private float[] original;

    DdimScheduler(SchedulerConfig config) {
        super(config, "leading", true);
    }


    @Override
    public void setTimesteps(int steps) {
        requireSteps(steps);
        inferenceSteps = steps;
        timesteps = spacing.descending(trainTimesteps, steps, stepsOffset);
    }

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, NoiseSource noise) {
        int timestep = (int) timesteps[stepIndex];
        int previous = timestep - trainTimesteps / inferenceSteps;
        float alpha = schedule.alphaCumprod(timestep);
        float alphaPrevious = alphaAt(previous);
        if (original == null || original.length != sample.length) {
            original = new float[sample.length];
        }
        predictOriginal(modelOutput, sample, alpha, original);
        double signal = Math.sqrt(alpha);
        double noiseScale = Math.sqrt(1.0 - alpha);
        double signalPrevious = Math.sqrt(alphaPrevious);
        double noisePrevious = Math.sqrt(1.0 - alphaPrevious);
        for (int i = 0; i < sample.length; i++) {
            double epsilon = (sample[i] - signal * original[i]) / noiseScale;
            sample[i] = (float) (signalPrevious * original[i] + noisePrevious * epsilon);
        }
    }
}
