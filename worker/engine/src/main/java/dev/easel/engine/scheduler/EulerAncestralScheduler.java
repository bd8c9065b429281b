package dev.easel.engine.scheduler;

import dev.easel.engine.noise.NoiseSource;

/** Ancestral Euler sampling: diffusers' {@code EulerAncestralDiscreteScheduler}; adds fresh noise every step. */
final class EulerAncestralScheduler extends SigmaScheduler {

    EulerAncestralScheduler(SchedulerConfig config) {
        super(config);
        if (karras) {
            throw new IllegalArgumentException(
                    "euler_a has no Karras sigmas (as in diffusers); use euler, lms, heun, dpmpp_2m or unipc with karras");
        }
    }


    private float[] fresh;

    @Override
    public void setTimesteps(int steps) {
        buildSigmas(steps);
    }

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, NoiseSource noise) {
        double sigmaFrom = stepSigmas[stepIndex];
        double sigmaTo = stepSigmas[stepIndex + 1];
        double sigmaUp = Math.sqrt(sigmaTo * sigmaTo * (sigmaFrom * sigmaFrom - sigmaTo * sigmaTo)
                / (sigmaFrom * sigmaFrom));
        double sigmaDown = Math.sqrt(sigmaTo * sigmaTo - sigmaUp * sigmaUp);
        double dt = sigmaDown - sigmaFrom;
        if (fresh == null || fresh.length != sample.length) {
            fresh = new float[sample.length];
        }
        noise.fill(fresh); // one draw of the latent's shape per step, the last included, as diffusers draws it
        for (int i = 0; i < sample.length; i++) {
            double original = predictOriginal(modelOutput[i], sample[i], sigmaFrom);
            double derivative = (sample[i] - original) / sigmaFrom;
            sample[i] = (float) (sample[i] + derivative * dt + fresh[i] * sigmaUp);
        }
    }
}
