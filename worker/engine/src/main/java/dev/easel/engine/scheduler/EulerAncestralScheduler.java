package dev.easel.engine.scheduler;

import dev.easel.engine.noise.GaussianNoise;

/** Ancestral Euler sampling: diffusers' {@code EulerAncestralDiscreteScheduler}; adds fresh noise every step. */
final class EulerAncestralScheduler extends SigmaScheduler {

    EulerAncestralScheduler(SchedulerConfig config) {
        super(config);
        if (karras) {
            throw new IllegalArgumentException(
                    "euler_a has no Karras sigmas (as in diffusers); use euler, lms, heun, dpmpp_2m or unipc with karras");
        }
    }

    @Override
    public String name() {
        return "euler_a";
    }

    @Override
    public void setTimesteps(int steps) {
        buildSigmas(steps);
    }

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, GaussianNoise noise) {
        double sigmaFrom = stepSigmas[stepIndex];
        double sigmaTo = stepSigmas[stepIndex + 1];
        double sigmaUp = Math.sqrt(sigmaTo * sigmaTo * (sigmaFrom * sigmaFrom - sigmaTo * sigmaTo)
                / (sigmaFrom * sigmaFrom));
        double sigmaDown = Math.sqrt(sigmaTo * sigmaTo - sigmaUp * sigmaUp);
        double dt = sigmaDown - sigmaFrom;
        for (int i = 0; i < sample.length; i++) {
            double original = predictOriginal(modelOutput[i], sample[i], sigmaFrom);
            double derivative = (sample[i] - original) / sigmaFrom;
            sample[i] = (float) (sample[i] + derivative * dt + noise.nextGaussian() * sigmaUp);
        }
    }
}
