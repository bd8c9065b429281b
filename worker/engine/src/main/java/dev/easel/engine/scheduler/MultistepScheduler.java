package dev.easel.engine.scheduler;

/**
 * Multistep solvers on the data prediction (DPM-Solver++, UniPC). They keep the latents unscaled (variance preserving),
 * use integer timesteps and carry sigma = sqrt((1 - alpha_cumprod) / alpha_cumprod) for their step sizes.
 */
abstract class MultistepScheduler extends BaseScheduler {
    protected final boolean karras;
    protected final int solverOrder;
    protected final boolean lowerOrderFinal;
    protected final boolean finalSigmaZero;
    /** One sigma per timestep plus the final one. */
    protected double[] stepSigmas = new double[0];
    protected float[][] modelOutputs;
    protected int lowerOrderCount;

    MultistepScheduler(SchedulerConfig config) {
        super(config, "linspace");
        this.karras = config.booleanValue("use_karras_sigmas", false);
        this.solverOrder = config.intValue("solver_order", 2);
        this.lowerOrderFinal = config.booleanValue("lower_order_final", true);
        String finalSigmas = config.stringValue("final_sigmas_type", "zero");
        if (!finalSigmas.equals("zero") && !finalSigmas.equals("sigma_min")) {
            throw new IllegalArgumentException(
                    "scheduler config final_sigmas_type '" + finalSigmas + "' is not supported; use zero or sigma_min");
        }
        this.finalSigmaZero = finalSigmas.equals("zero");
        if (solverOrder < 1 || solverOrder > 3) {
            throw new IllegalArgumentException("scheduler config solver_order must be 1, 2 or 3, got " + solverOrder);
        }
        for (String unsupported : new String[] {"use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas",
            "use_flow_sigmas", "thresholding"}) {
            if (config.booleanValue(unsupported, false)) {
                throw new IllegalArgumentException(
                        "scheduler config sets " + unsupported + ", which Easel does not support; remove the key");
            }
        }
    }

    /** The timestep the schedule starts from; DPM-Solver clips it where lambda falls below lambda_min_clipped. */
    protected int lastTimestep() {
        return trainTimesteps;
    }

    /** Karras timesteps are rounded to integers for all beta schedules but the cosine one. */
    protected boolean roundKarrasTimesteps() {
        return true;
    }

    @Override
    public void setTimesteps(int steps) {
        requireSteps(steps);
        int last = lastTimestep();
        double[] times = switch (spacing) {
            case LINSPACE -> {
                double[] values = TimestepSpacing.linspace(0, last - 1, steps + 1);
                double[] result = new double[steps];
                for (int i = 0; i < steps; i++) {
                    result[i] = Math.rint(values[steps - i]);
                }
                yield result;
            }
            case LEADING -> {
                int ratio = last / (steps + 1);
                double[] result = new double[steps];
                for (int i = 0; i < steps; i++) {
                    result[i] = (double) (steps - i) * ratio + stepsOffset;
                }
                yield result;
            }
            case TRAILING -> {
                double[] values = TimestepSpacing.arangeDown(last, 0, -((double) trainTimesteps / steps));
                for (int i = 0; i < values.length; i++) {
                    values[i] = Math.rint(values[i]) - 1;
                }
                yield values;
            }
        };
        double[] sigmas;
        if (karras) {
            float[] trainSigmas = schedule.sigmas();
            sigmas = Karras.sigmas(config, trainSigmas[0], trainSigmas[trainSigmas.length - 1], steps);
            times = new double[sigmas.length];
            for (int i = 0; i < sigmas.length; i++) {
                double t = schedule.sigmaToTimestep(sigmas[i]);
                times[i] = roundKarrasTimesteps() ? Math.rint(t) : t;
            }
        } else {
            sigmas = new double[times.length];
            for (int i = 0; i < times.length; i++) {
                sigmas[i] = schedule.interpolatedSigma(times[i]);
            }
        }
        double finalSigma = finalSigmaZero ? 0.0 : finalSigmaMin(sigmas);
        timesteps = new double[times.length];
        stepSigmas = new double[times.length + 1];
        for (int i = 0; i < times.length; i++) {
            timesteps[i] = (long) times[i];
            stepSigmas[i] = (float) sigmas[i];
        }
        stepSigmas[times.length] = (float) finalSigma;
        inferenceSteps = times.length;
        modelOutputs = new float[solverOrder][];
        lowerOrderCount = 0;
        resetState();
    }

    /** The last sigma when {@code final_sigmas_type} is sigma_min. */
    protected double finalSigmaMin(double[] sigmas) {
        float alpha = schedule.alphaCumprod(0);
        return Math.sqrt((1 - alpha) / alpha);
    }

    protected abstract void resetState();

    @Override
    public double[] sigmas() {
        return java.util.Arrays.copyOf(stepSigmas, timesteps.length);
    }

    @Override
    public double initNoiseSigma() {
        return 1.0;
    }

    @Override
    public double modelInputScale(int stepIndex) {
        return 1.0;
    }

    @Override
    public void addNoise(float[] originalSamples, float[] noise, int stepIndex) {
        double sigma = stepSigmas[stepIndex];
        double alpha = alphaT(sigma);
        double sigmaT = sigma * alpha;
        for (int i = 0; i < originalSamples.length; i++) {
            originalSamples[i] = (float) (alpha * originalSamples[i] + sigmaT * noise[i]);
        }
    }

    protected static double alphaT(double sigma) {
        return 1 / Math.sqrt(sigma * sigma + 1);
    }

    /** log(alpha_t) - log(sigma_t) of the step with index {@code index}. */
    protected double lambda(int index) {
        double sigma = stepSigmas[index];
        double alpha = alphaT(sigma);
        return Math.log(alpha) - Math.log(sigma * alpha);
    }

    /** The data prediction (x0) of the model output at step {@code stepIndex}, into {@code target}. */
    protected void convertToData(float[] modelOutput, float[] sample, int stepIndex, float[] target) {
        double sigma = stepSigmas[stepIndex];
        double alpha = alphaT(sigma);
        double sigmaT = sigma * alpha;
        for (int i = 0; i < sample.length; i++) {
            target[i] = (float) switch (prediction) {
                case EPSILON -> (sample[i] - sigmaT * modelOutput[i]) / alpha;
                case V_PREDICTION -> alpha * sample[i] - sigmaT * modelOutput[i];
                case SAMPLE -> modelOutput[i];
            };
        }
    }

    /** Shifts the history of converted outputs and returns the slot for the newest one. */
    protected float[] pushModelOutput(int length) {
        float[] oldest = modelOutputs[0];
        System.arraycopy(modelOutputs, 1, modelOutputs, 0, solverOrder - 1);
        if (oldest == null || oldest.length != length) {
            oldest = new float[length];
        }
        modelOutputs[solverOrder - 1] = oldest;
        return oldest;
    }

    /** The converted output {@code back} steps ago (0 = newest). */
    protected float[] modelOutput(int back) {
        return modelOutputs[solverOrder - 1 - back];
    }
}
