package dev.easel.engine.scheduler;

/**
 * The training noise schedule (betas and their cumulative alpha products) that every scheduler derives its timesteps
 * and sigmas from. Values are float32 and computed the way diffusers computes them with torch, so that schedules agree
 * with the reference to the last bit where it matters (integer timesteps) and within float rounding elsewhere.
 */
public final class NoiseSchedule {
    private final int trainTimesteps;
    private final float[] alphasCumprod;
    private final float[] sigmas;
    private final float[] logSigmas;

    private NoiseSchedule(float[] betas) {
        this.trainTimesteps = betas.length;
        this.alphasCumprod = new float[betas.length];
        // torch.cumprod on float32 accumulates in double and rounds each partial product.
        double product = 1.0;
        for (int i = 0; i < betas.length; i++) {
            product *= (float) (1.0f - betas[i]);
            alphasCumprod[i] = (float) product;
        }
        this.sigmas = new float[betas.length];
        this.logSigmas = new float[betas.length];
        for (int i = 0; i < betas.length; i++) {
            float alpha = alphasCumprod[i];
            sigmas[i] = (float) Math.sqrt((1.0f - alpha) / alpha);
            logSigmas[i] = (float) Math.log(sigmas[i]);
        }
    }

    public static NoiseSchedule fromConfig(SchedulerConfig config) {
        int count = config.intValue("num_train_timesteps", 1000);
        double[] trained = config.doubleArray("trained_betas");
        if (trained != null) {
            float[] betas = new float[trained.length];
            for (int i = 0; i < betas.length; i++) {
                betas[i] = (float) trained[i];
            }
            return new NoiseSchedule(betas);
        }
        if (config.booleanValue("rescale_betas_zero_snr", false)) {
            throw new IllegalArgumentException(
                    "scheduler config sets rescale_betas_zero_snr, which Easel does not support; remove the key");
        }
        double betaStart = config.doubleValue("beta_start", 0.0001);
        double betaEnd = config.doubleValue("beta_end", 0.02);
        String kind = config.stringValue("beta_schedule", "linear");
        float[] betas;
        switch (kind) {
            case "linear" -> betas = torchLinspace(betaStart, betaEnd, count);
            case "scaled_linear" -> {
                betas = torchLinspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), count);
                for (int i = 0; i < count; i++) {
                    betas[i] = betas[i] * betas[i];
                }
            }
            case "squaredcos_cap_v2" -> betas = cosineBetas(count);
            default -> throw new IllegalArgumentException("scheduler config beta_schedule '" + kind
                    + "' is not supported; use linear, scaled_linear or squaredcos_cap_v2");
        }
        return new NoiseSchedule(betas);
    }

    /** torch.linspace(start, end, steps, dtype=float32) as the CPU kernel computes it: from both ends towards the middle. */
    static float[] torchLinspace(double startValue, double endValue, int steps) {
        float start = (float) startValue;
        float end = (float) endValue;
        float step = (end - start) / (float) (steps - 1);
        int halfway = steps / 2;
        float[] result = new float[steps];
        for (int i = 0; i < steps; i++) {
            result[i] = i < halfway ? start + step * i : end - step * (steps - i - 1);
        }
        return result;
    }

    private static float[] cosineBetas(int count) {
        float[] betas = new float[count];
        for (int i = 0; i < count; i++) {
            double t1 = (double) i / count;
            double t2 = (double) (i + 1) / count;
            betas[i] = (float) Math.min(1 - cosineAlphaBar(t2) / cosineAlphaBar(t1), 0.999);
        }
        return betas;
    }

    private static double cosineAlphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    public int trainTimesteps() {
        return trainTimesteps;
    }

    public float alphaCumprod(int timestep) {
        return alphasCumprod[timestep];
    }

    /** sqrt((1 - alpha_cumprod) / alpha_cumprod) per training timestep (float32, ascending). */
    public float[] sigmas() {
        return sigmas.clone();
    }

    float sigma(int timestep) {
        return sigmas[timestep];
    }

    /** The sigma for a fractional timestep: linear interpolation, as numpy.interp does it. */
    double interpolatedSigma(double timestep) {
        if (timestep <= 0) {
            return sigmas[0];
        }
        if (timestep >= trainTimesteps - 1) {
            return sigmas[trainTimesteps - 1];
        }
        int low = (int) Math.floor(timestep);
        double fraction = timestep - low;
        if (fraction == 0) {
            return sigmas[low];
        }
        double lowSigma = sigmas[low];
        double highSigma = sigmas[low + 1];
        return lowSigma + (highSigma - lowSigma) * fraction;
    }

    /** The inverse of the sigma table, interpolating in log-sigma (diffusers' {@code _sigma_to_t}). */
    double sigmaToTimestep(double sigma) {
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        int low = 0;
        for (int i = 0; i < logSigmas.length; i++) {
            if (logSigma - logSigmas[i] >= 0) {
                low = i;
            }
        }
        low = Math.min(low, logSigmas.length - 2);
        double lowLog = logSigmas[low];
        double highLog = logSigmas[low + 1];
        double weight = (lowLog - logSigma) / (lowLog - highLog);
        weight = Math.max(0, Math.min(1, weight));
        return (1 - weight) * low + weight * (low + 1);
    }
}
