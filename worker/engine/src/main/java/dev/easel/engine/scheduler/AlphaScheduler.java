package dev.easel.engine.scheduler;

/** Schedulers that work on alpha_cumprod at integer timesteps (DDIM, PNDM, LCM); the model input is not scaled. */
abstract class AlphaScheduler extends BaseScheduler {
    protected final float finalAlphaCumprod;

    AlphaScheduler(SchedulerConfig config, String defaultSpacing, boolean defaultSetAlphaToOne) {
        super(config, defaultSpacing);
        this.finalAlphaCumprod = config.booleanValue("set_alpha_to_one", defaultSetAlphaToOne)
                ? 1.0f : schedule.alphaCumprod(0);
    }

    @Override
    public double initNoiseSigma() {
        return 1.0;
    }

    @Override
    public double modelInputScale(int stepIndex) {
        return 1.0;
    }

    public float finalAlphaCumprod() {
        return finalAlphaCumprod;
    }

    protected float alphaAt(int timestep) {
        return timestep >= 0 ? schedule.alphaCumprod(timestep) : finalAlphaCumprod;
    }

    @Override
    public void addNoise(float[] originalSamples, float[] noise, int stepIndex) {
        float alpha = schedule.alphaCumprod((int) timesteps[stepIndex]);
        float signal = (float) Math.sqrt(alpha);
        float noiseScale = (float) Math.sqrt(1.0f - alpha);
        for (int i = 0; i < originalSamples.length; i++) {
            originalSamples[i] = signal * originalSamples[i] + noiseScale * noise[i];
        }
    }

    /** The predicted clean sample from the model output at alpha_cumprod {@code alpha}, in place into {@code x0}. */
    protected void predictOriginal(float[] modelOutput, float[] sample, float alpha, float[] x0) {
        double signal = Math.sqrt(alpha);
        double noise = Math.sqrt(1.0 - alpha);
        boolean clip = config.booleanValue("clip_sample", false);
        double range = config.doubleValue("clip_sample_range", 1.0);
        for (int i = 0; i < sample.length; i++) {
            double value = switch (prediction) {
                case EPSILON -> (sample[i] - noise * modelOutput[i]) / signal;
                case V_PREDICTION -> signal * sample[i] - noise * modelOutput[i];
                case SAMPLE -> modelOutput[i];
            };
            if (clip) {
                value = Math.max(-range, Math.min(range, value));
            }
            x0[i] = (float) value;
        }
    }
}
