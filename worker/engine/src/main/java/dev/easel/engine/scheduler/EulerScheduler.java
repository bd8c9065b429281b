package dev.easel.engine.scheduler;

import dev.easel.engine.noise.NoiseSource;

/** Euler's method on the probability-flow ODE: diffusers' {@code EulerDiscreteScheduler} (s_churn = 0). */
final class EulerScheduler extends SigmaScheduler {

    EulerScheduler(SchedulerConfig config) {
        super(config);
    }


    @Override
    public void setTimesteps(int steps) {
        buildSigmas(steps);
    }

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, NoiseSource noise) {
        double sigma = stepSigmas[stepIndex];
        double dt = stepSigmas[stepIndex + 1] - sigma;
        for (int i = 0; i < sample.length; i++) {
            double original = predictOriginal(modelOutput[i], sample[i], sigma);
            double derivative = (sample[i] - original) / sigma;
            sample[i] = (float) (sample[i] + derivative * dt);
        }
    }
}
