package dev.easel.engine.scheduler;

import dev.easel.engine.noise.NoiseSource;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;

/** Linear multistep (order 4) on the ODE derivatives: diffusers' {@code LMSDiscreteScheduler}. */
final class LmsScheduler extends SigmaScheduler {
    private static final int ORDER = 4;
    // 4-point Gauss-Legendre nodes and weights on [-1, 1]: exact for the cubic Lagrange basis being integrated.
    private static final double[] NODES = {-0.8611363115940526, -0.3399810435848563, 0.3399810435848563,
        0.8611363115940526};
    private static final double[] WEIGHTS = {0.3478548451374538, 0.6521451548625461, 0.6521451548625461,
        0.3478548451374538};

    private final Deque<float[]> derivatives = new ArrayDeque<>();

    LmsScheduler(SchedulerConfig config) {
        super(config);
    }


    @Override
    public void setTimesteps(int steps) {
        buildSigmas(steps);
        derivatives.clear();
    }

    /** The integral from sigma[t] to sigma[t+1] of the Lagrange basis polynomial for {@code currentOrder}. */
    double coefficient(int order, int t, int currentOrder) {
        double from = stepSigmas[t];
        double to = stepSigmas[t + 1];
        double half = (to - from) / 2;
        double middle = (to + from) / 2;
        double integral = 0;
        for (int n = 0; n < NODES.length; n++) {
            double tau = middle + half * NODES[n];
            double product = 1.0;
            for (int k = 0; k < order; k++) {
                if (k == currentOrder) {
                    continue;
                }
                product *= (tau - stepSigmas[t - k]) / (stepSigmas[t - currentOrder] - stepSigmas[t - k]);
            }
            integral += WEIGHTS[n] * product;
        }
        return integral * half;
    }

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, NoiseSource noise) {
        double sigma = stepSigmas[stepIndex];
        float[] derivative = derivatives.size() >= ORDER ? derivatives.removeFirst() : new float[sample.length];
        for (int i = 0; i < sample.length; i++) {
            double original = predictOriginal(modelOutput[i], sample[i], sigma);
            derivative[i] = (float) ((sample[i] - original) / sigma);
        }
        derivatives.addLast(derivative);
        int order = Math.min(stepIndex + 1, ORDER);
        order = Math.min(order, derivatives.size());
        double[] coefficients = new double[order];
        for (int j = 0; j < order; j++) {
            coefficients[j] = coefficient(order, stepIndex, j);
        }
        Iterator<float[]> newestFirst = derivatives.descendingIterator();
        float[][] recent = new float[order][];
        for (int j = 0; j < order; j++) {
            recent[j] = newestFirst.next();
        }
        for (int i = 0; i < sample.length; i++) {
            double update = 0;
            for (int j = 0; j < order; j++) {
                update += coefficients[j] * recent[j][i];
            }
            sample[i] = (float) (sample[i] + update);
        }
    }
}
