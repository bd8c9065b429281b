package dev.easel.engine.scheduler;

/**
 * The Euler family (Euler, Euler ancestral, LMS, Heun): latents live in sigma space (x0 + sigma * noise), the model
 * input is divided by sqrt(sigma^2 + 1), and the timestep handed to the model may be fractional.
 */
abstract class SigmaScheduler extends BaseScheduler {
    protected final boolean karras;
    /** One sigma per timestep plus the final one (0). */
    protected double[] stepSigmas = new double[0];

    SigmaScheduler(SchedulerConfig config) {
        super(config, "linspace");
        this.karras = config.booleanValue("use_karras_sigmas", false);
        if (!config.stringValue("interpolation_type", "linear").equals("linear")) {
            throw new IllegalArgumentException("scheduler config interpolation_type '"
                    + config.stringValue("interpolation_type", "") + "' is not supported; use linear");
        }
        if (!config.stringValue("final_sigmas_type", "zero").equals("zero")) {
            throw new IllegalArgumentException(
                    "scheduler config final_sigmas_type '" + config.stringValue("final_sigmas_type", "")
                            + "' is not supported by " + getClass().getSimpleName() + "; use zero");
        }
    }

    /** Inference timesteps before Karras conversion, as float32 values. */
    protected double[] spacedTimesteps(int steps) {
        return switch (spacing) {
            case LINSPACE -> TimestepSpacing.fractionalLinspace(trainTimesteps, steps);
            case LEADING, TRAILING -> spacing.descending(trainTimesteps, steps, stepsOffset);
        };
    }

    /** Timesteps and sigmas as diffusers' Euler, LMS and Heun schedulers build them; result in the two fields. */
    protected void buildSigmas(int steps) {
        requireSteps(steps);
        inferenceSteps = steps;
        double[] times = spacedTimesteps(steps);
        double[] sigmas = new double[times.length];
        for (int i = 0; i < times.length; i++) {
            sigmas[i] = schedule.interpolatedSigma(times[i]);
        }
        if (karras) {
            sigmas = Karras.sigmas(config, sigmas[sigmas.length - 1], sigmas[0], steps);
            times = new double[sigmas.length];
            for (int i = 0; i < sigmas.length; i++) {
                times[i] = schedule.sigmaToTimestep(sigmas[i]);
            }
        }
        timesteps = new double[times.length];
        stepSigmas = new double[sigmas.length + 1];
        for (int i = 0; i < times.length; i++) {
            timesteps[i] = (float) times[i];
            stepSigmas[i] = (float) sigmas[i];
        }
    }

    @Override
    public double[] sigmas() {
        return java.util.Arrays.copyOf(stepSigmas, timesteps.length);
    }

    /** All sigmas including the final one. */
    public double[] allSigmas() {
        return stepSigmas.clone();
    }

    @Override
    public double initNoiseSigma() {
        float max = 0;
        for (double sigma : stepSigmas) {
            max = Math.max(max, (float) sigma);
        }
        if (spacing == TimestepSpacing.LINSPACE || spacing == TimestepSpacing.TRAILING) {
            return max;
        }
        return (float) Math.sqrt(max * max + 1.0f);
    }

    @Override
    public double modelInputScale(int stepIndex) {
        double sigma = stepSigmas[stepIndex];
        return 1.0 / Math.sqrt(sigma * sigma + 1);
    }

    @Override
    public void addNoise(float[] originalSamples, float[] noise, int stepIndex) {
        float sigma = (float) stepSigmas[stepIndex];
        for (int i = 0; i < originalSamples.length; i++) {
            originalSamples[i] = originalSamples[i] + noise[i] * sigma;
        }
    }

    /** The predicted clean sample at {@code sigma} for element {@code i}. */
    protected double predictOriginal(float modelOutput, float sample, double sigma) {
        return switch (prediction) {
            case EPSILON -> sample - sigma * modelOutput;
            case V_PREDICTION -> modelOutput * (-sigma / Math.sqrt(sigma * sigma + 1)) + sample / (sigma * sigma + 1);
            case SAMPLE -> modelOutput;
        };
    }
}
