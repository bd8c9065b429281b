package dev.easel.engine.scheduler;

import dev.easel.engine.noise.NoiseSource;

/**
 * Heun's second-order method: diffusers' {@code HeunDiscreteScheduler}. Each inference step but the last takes two
 * model evaluations, so timesteps and sigmas repeat every interior value.
 */
final class HeunScheduler extends SigmaScheduler {
    private float[] firstDerivative;
    private float[] savedSample;
    private double savedDt;
    private boolean inSecondOrder;

    HeunScheduler(SchedulerConfig config) {
        super(config);
    }


    @Override
    public int order() {
        return 2;
    }

    @Override
    public void setTimesteps(int steps) {
        buildSigmas(steps);
        double[] times = timesteps;
        double[] sigmas = stepSigmas;
        int n = times.length;
        timesteps = new double[2 * n - 1];
        stepSigmas = new double[2 * n];
        timesteps[0] = times[0];
        stepSigmas[0] = sigmas[0];
        for (int i = 1; i < n; i++) {
            timesteps[2 * i - 1] = times[i];
            timesteps[2 * i] = times[i];
            stepSigmas[2 * i - 1] = sigmas[i];
            stepSigmas[2 * i] = sigmas[i];
        }
        stepSigmas[2 * n - 1] = sigmas[n];
        inSecondOrder = false;
    }

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, NoiseSource noise) {
        if (!inSecondOrder) {
            double sigma = stepSigmas[stepIndex];
            double sigmaNext = stepSigmas[stepIndex + 1];
            if (firstDerivative == null || firstDerivative.length != sample.length) {
                firstDerivative = new float[sample.length];
            }
            savedSample = copyInto(savedSample, sample);
            savedDt = sigmaNext - sigma;
            for (int i = 0; i < sample.length; i++) {
                double original = predictOriginal(modelOutput[i], sample[i], sigma);
                firstDerivative[i] = (float) ((sample[i] - original) / sigma);
                sample[i] = (float) (sample[i] + firstDerivative[i] * savedDt);
            }
            // The final step goes to sigma 0 with Euler; every other step is corrected by a second evaluation.
            inSecondOrder = stepIndex + 1 < timesteps.length;
        } else {
            double sigmaNext = stepSigmas[stepIndex];
            for (int i = 0; i < sample.length; i++) {
                double original = predictOriginal(modelOutput[i], sample[i], sigmaNext);
                double derivative = (sample[i] - original) / sigmaNext;
                double average = (firstDerivative[i] + derivative) / 2;
                sample[i] = (float) (savedSample[i] + average * savedDt);
            }
            inSecondOrder = false;
        }
    }
}
