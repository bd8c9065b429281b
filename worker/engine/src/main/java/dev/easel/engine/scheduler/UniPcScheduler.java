package dev.easel.engine.scheduler;

import dev.easel.engine.noise.NoiseSource;
import java.util.HashSet;
import java.util.Set;

/**
 * UniPC (predictor UniP and corrector UniC, B(h) = expm1(h) "bh2", data prediction): diffusers'
 * {@code UniPCMultistepScheduler}.
 */
final class UniPcScheduler extends MultistepScheduler {
    private final boolean bh1;
    private final Set<Integer> disabledCorrector = new HashSet<>();
    private float[] lastSample;
    private float[] scratchBuffer;
    private boolean hasLastSample;
    private int thisOrder;

    UniPcScheduler(SchedulerConfig config) {
        super(config);
        if (!config.booleanValue("predict_x0", true)) {
            throw new IllegalArgumentException("scheduler config predict_x0=false is not supported for unipc");
        }
        String solverType = config.stringValue("solver_type", "bh2");
        if (!solverType.equals("bh1") && !solverType.equals("bh2")) {
            throw new IllegalArgumentException(
                    "scheduler config solver_type '" + solverType + "' is not supported for unipc; use bh1 or bh2");
        }
        this.bh1 = solverType.equals("bh1");
        Object disabled = config.asMap().get("disable_corrector");
        if (disabled instanceof Iterable<?> list) {
            for (Object step : list) {
                disabledCorrector.add(((Number) step).intValue());
            }
        }
    }


    @Override
    protected double finalSigmaMin(double[] sigmas) {
        return karras ? sigmas[sigmas.length - 1] : super.finalSigmaMin(sigmas);
    }

    @Override
    protected void resetState() {
        hasLastSample = false;
        thisOrder = 0;
    }

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, NoiseSource noise) {
        boolean useCorrector = stepIndex > 0 && !disabledCorrector.contains(stepIndex - 1) && hasLastSample;
        if (useCorrector) {
            // The corrector needs the previous step's newest output as m0, so it runs before the history shifts;
            // the fresh conversion goes to a scratch slot that becomes the newest entry right after.
            float[] converted = scratch(sample.length);
            convertToData(modelOutput, sample, stepIndex, converted);
            correct(converted, stepIndex, sample);
            float[] slot = pushModelOutput(sample.length);
            System.arraycopy(converted, 0, slot, 0, sample.length);
        } else {
            float[] slot = pushModelOutput(sample.length);
            convertToData(modelOutput, sample, stepIndex, slot);
        }
        int order = lowerOrderFinal ? Math.min(solverOrder, timesteps.length - stepIndex) : solverOrder;
        thisOrder = Math.min(order, lowerOrderCount + 1);
        lastSample = copyInto(lastSample, sample);
        hasLastSample = true;
        predict(stepIndex, sample, thisOrder);
        if (lowerOrderCount < solverOrder) {
            lowerOrderCount++;
        }
    }

    private float[] scratch(int length) {
        if (scratchBuffer == null || scratchBuffer.length != length) {
            scratchBuffer = new float[length];
        }
        return scratchBuffer;
    }

    /** The B(h)-version coefficients: b_k for k = 1..order, and h*phi_1 and B(h) themselves. */
    private record Coefficients(double[] b, double hPhi1, double bh) {
    }

    private Coefficients coefficients(double h, int order) {
        double hh = -h;
        double hPhi1 = Math.expm1(hh);
        double hPhiK = hPhi1 / hh - 1;
        double factorial = 1;
        double bh = bh1 ? hh : Math.expm1(hh);
        double[] b = new double[order];
        for (int i = 1; i <= order; i++) {
            b[i - 1] = hPhiK * factorial / bh;
            factorial *= i + 1;
            hPhiK = hPhiK / hh - 1 / factorial;
        }
        return new Coefficients(b, hPhi1, bh);
    }

    /** UniP: predicts the sample at step {@code stepIndex + 1} in place. */
    private void predict(int stepIndex, float[] sample, int order) {
        double sigmaNext = stepSigmas[stepIndex + 1];
        double alphaNext = alphaT(sigmaNext);
        double sigmaTNext = sigmaNext * alphaNext;
        double sigma0 = stepSigmas[stepIndex];
        double sigmaT0 = sigma0 * alphaT(sigma0);
        double lambda0 = lambda(stepIndex);
        double h = lambda(stepIndex + 1) - lambda0;
        float[] m0 = modelOutput(0);
        double[] rks = new double[order];
        for (int i = 1; i < order; i++) {
            rks[i - 1] = (lambda(stepIndex - i) - lambda0) / h;
        }
        rks[order - 1] = 1.0;
        Coefficients c = coefficients(h, order);
        double[] rhos = new double[Math.max(order - 1, 0)];
        if (order == 2) {
            rhos[0] = 0.5;
        } else if (order > 2) {
            rhos = LinearSolve.solve(powers(rks, order - 1), java.util.Arrays.copyOf(c.b(), order - 1));
        }
        double sampleFactor = sigmaTNext / sigmaT0;
        double dataFactor = alphaNext * c.hPhi1();
        double residualFactor = alphaNext * c.bh();
        for (int e = 0; e < sample.length; e++) {
            double residual = 0;
            for (int i = 1; i < order; i++) {
                residual += rhos[i - 1] * (modelOutput(i)[e] - m0[e]) / rks[i - 1];
            }
            sample[e] = (float) (sampleFactor * sample[e] - dataFactor * m0[e] - residualFactor * residual);
        }
    }

    /** UniC: corrects the sample just predicted for step {@code stepIndex}, in place, with the new output. */
    private void correct(float[] modelT, int stepIndex, float[] sample) {
        int order = thisOrder;
        double sigma = stepSigmas[stepIndex];
        double alpha = alphaT(sigma);
        double sigmaT = sigma * alpha;
        double sigmaPrevious = stepSigmas[stepIndex - 1];
        double sigmaTPrevious = sigmaPrevious * alphaT(sigmaPrevious);
        double lambda0 = lambda(stepIndex - 1);
        double h = lambda(stepIndex) - lambda0;
        float[] m0 = modelOutput(0);
        double[] rks = new double[order];
        for (int i = 1; i < order; i++) {
            rks[i - 1] = (lambda(stepIndex - (i + 1)) - lambda0) / h;
        }
        rks[order - 1] = 1.0;
        Coefficients c = coefficients(h, order);
        double[] rhos = order == 1 ? new double[] {0.5} : LinearSolve.solve(powers(rks, order), c.b());
        double sampleFactor = sigmaT / sigmaTPrevious;
        double dataFactor = alpha * c.hPhi1();
        double residualFactor = alpha * c.bh();
        for (int e = 0; e < sample.length; e++) {
            double residual = 0;
            for (int i = 1; i < order; i++) {
                residual += rhos[i - 1] * (modelOutput(i)[e] - m0[e]) / rks[i - 1];
            }
            residual += rhos[order - 1] * (modelT[e] - m0[e]);
            sample[e] = (float) (sampleFactor * lastSample[e] - dataFactor * m0[e] - residualFactor * residual);
        }
    }

    /** The matrix R with R[i][j] = rks[j]^i, for i, j below {@code size}. */
    private static double[][] powers(double[] rks, int size) {
        double[][] matrix = new double[size][size];
        for (int i = 0; i < size; i++) {
            for (int j = 0; j < size; j++) {
                matrix[i][j] = Math.pow(rks[j], i);
            }
        }
        return matrix;
    }
}
