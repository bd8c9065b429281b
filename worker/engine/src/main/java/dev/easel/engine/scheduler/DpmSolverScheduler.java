package dev.easel.engine.scheduler;

import dev.easel.engine.noise.NoiseSource;

/**
 * DPM-Solver++ multistep (2M by default): diffusers' {@code DPMSolverMultistepScheduler} with
 * {@code algorithm_type="dpmsolver++"}.
 */
final class DpmSolverScheduler extends MultistepScheduler {
    private final boolean heunSolver;
    private final boolean eulerAtFinal;
    private final double lambdaMinClipped;

    DpmSolverScheduler(SchedulerConfig config) {
        super(config);
        String algorithm = config.stringValue("algorithm_type", "dpmsolver++");
        if (!algorithm.equals("dpmsolver++")) {
            throw new IllegalArgumentException("scheduler config algorithm_type '" + algorithm
                    + "' is not supported for dpmpp_2m; use dpmsolver++");
        }
        String solverType = config.stringValue("solver_type", "midpoint");
        if (!solverType.equals("midpoint") && !solverType.equals("heun")) {
            throw new IllegalArgumentException(
                    "scheduler config solver_type '" + solverType + "' is not supported; use midpoint or heun");
        }
        this.heunSolver = solverType.equals("heun");
        this.eulerAtFinal = config.booleanValue("euler_at_final", false);
        this.lambdaMinClipped = config.doubleValue("lambda_min_clipped", Double.NEGATIVE_INFINITY);
    }


    @Override
    protected int lastTimestep() {
        // torch.searchsorted(flip(lambda_t), lambda_min_clipped): how many lambdas lie below the clip.
        int clipped = 0;
        for (int t = trainTimesteps - 1; t >= 0; t--) {
            float alpha = schedule.alphaCumprod(t);
            float lambda = (float) (Math.log((float) Math.sqrt(alpha)) - Math.log((float) Math.sqrt(1 - alpha)));
            if (lambda < lambdaMinClipped) {
                clipped++;
            } else {
                break;
            }
        }
        return trainTimesteps - clipped;
    }

    @Override
    protected boolean roundKarrasTimesteps() {
        return !config.stringValue("beta_schedule", "linear").equals("squaredcos_cap_v2");
    }

    @Override
    protected void resetState() {
    }

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, NoiseSource noise) {
        int count = timesteps.length;
        boolean lowerOrderFinalStep = stepIndex == count - 1
                && (eulerAtFinal || (lowerOrderFinal && count < 15) || finalSigmaZero);
        boolean lowerOrderSecond = stepIndex == count - 2 && lowerOrderFinal && count < 15;
        float[] converted = pushModelOutput(sample.length);
        convertToData(modelOutput, sample, stepIndex, converted);
        if (solverOrder == 1 || lowerOrderCount < 1 || lowerOrderFinalStep) {
            firstOrder(stepIndex, sample);
        } else if (solverOrder == 2 || lowerOrderCount < 2 || lowerOrderSecond) {
            secondOrder(stepIndex, sample);
        } else {
            thirdOrder(stepIndex, sample);
        }
        if (lowerOrderCount < solverOrder) {
            lowerOrderCount++;
        }
    }

    private void firstOrder(int stepIndex, float[] sample) {
        double sigmaNext = stepSigmas[stepIndex + 1];
        double sigma = stepSigmas[stepIndex];
        double alphaNext = alphaT(sigmaNext);
        double sigmaTNext = sigmaNext * alphaNext;
        double sigmaT = sigma * alphaT(sigma);
        double h = lambda(stepIndex + 1) - lambda(stepIndex);
        double sampleFactor = sigmaTNext / sigmaT;
        double dataFactor = alphaNext * (Math.exp(-h) - 1.0);
        float[] d0 = modelOutput(0);
        for (int i = 0; i < sample.length; i++) {
            sample[i] = (float) (sampleFactor * sample[i] - dataFactor * d0[i]);
        }
    }

    private void secondOrder(int stepIndex, float[] sample) {
        double sigmaNext = stepSigmas[stepIndex + 1];
        double alphaNext = alphaT(sigmaNext);
        double sigmaTNext = sigmaNext * alphaNext;
        double sigma0 = stepSigmas[stepIndex];
        double sigmaT0 = sigma0 * alphaT(sigma0);
        double lambdaNext = lambda(stepIndex + 1);
        double lambda0 = lambda(stepIndex);
        double lambda1 = lambda(stepIndex - 1);
        double h = lambdaNext - lambda0;
        double h0 = lambda0 - lambda1;
        double r0 = h0 / h;
        double expm = Math.exp(-h) - 1.0;
        float[] m0 = modelOutput(0);
        float[] m1 = modelOutput(1);
        for (int i = 0; i < sample.length; i++) {
            double d0 = m0[i];
            double d1 = (1.0 / r0) * (m0[i] - m1[i]);
            double value = (sigmaTNext / sigmaT0) * sample[i] - (alphaNext * expm) * d0;
            value += heunSolver ? (alphaNext * (expm / h + 1.0)) * d1 : -0.5 * (alphaNext * expm) * d1;
            sample[i] = (float) value;
        }
    }

    private void thirdOrder(int stepIndex, float[] sample) {
        double sigmaNext = stepSigmas[stepIndex + 1];
        double alphaNext = alphaT(sigmaNext);
        double sigmaTNext = sigmaNext * alphaNext;
        double sigma0 = stepSigmas[stepIndex];
        double sigmaT0 = sigma0 * alphaT(sigma0);
        double lambdaNext = lambda(stepIndex + 1);
        double lambda0 = lambda(stepIndex);
        double lambda1 = lambda(stepIndex - 1);
        double lambda2 = lambda(stepIndex - 2);
        double h = lambdaNext - lambda0;
        double h0 = lambda0 - lambda1;
        double h1 = lambda1 - lambda2;
        double r0 = h0 / h;
        double r1 = h1 / h;
        float[] m0 = modelOutput(0);
        float[] m1 = modelOutput(1);
        float[] m2 = modelOutput(2);
        double expm = Math.exp(-h) - 1.0;
        for (int i = 0; i < sample.length; i++) {
            double d10 = (1.0 / r0) * (m0[i] - m1[i]);
            double d11 = (1.0 / r1) * (m1[i] - m2[i]);
            double d1 = d10 + (r0 / (r0 + r1)) * (d10 - d11);
            double d2 = (1.0 / (r0 + r1)) * (d10 - d11);
            sample[i] = (float) ((sigmaTNext / sigmaT0) * sample[i] - (alphaNext * expm) * m0[i]
                    + (alphaNext * (expm / h + 1.0)) * d1
                    - (alphaNext * ((expm + h) / (h * h) - 0.5)) * d2);
        }
    }
}
