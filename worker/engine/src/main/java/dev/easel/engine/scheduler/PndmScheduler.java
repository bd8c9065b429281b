package dev.easel.engine.scheduler;

import dev.easel.engine.noise.NoiseSource;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;

/**
 * PNDM in its PLMS form (diffusers' {@code PNDMScheduler} with {@code skip_prk_steps=True}, as Stable Diffusion
 * configures it): a linear multistep method on the noise predictions.
 */
final class PndmScheduler extends AlphaScheduler {
    private final Deque<float[]> history = new ArrayDeque<>();
    private float[] currentSample;
    private float[] combined;
    private int counter;

    PndmScheduler(SchedulerConfig config) {
        super(config, "leading", false);
        if (prediction == Prediction.SAMPLE) {
            throw new IllegalArgumentException("pndm supports prediction_type epsilon or v_prediction, not sample");
        }
    }


    @Override
    public void setTimesteps(int steps) {
        requireSteps(steps);
        inferenceSteps = steps;
        double[] ascending = TimestepSpacing.reversed(spacing.descending(trainTimesteps, steps, stepsOffset));
        // PLMS repeats the second to last timestep: [..., t_{n-2}, t_{n-2}, t_{n-1}] reversed.
        int n = ascending.length;
        double[] plms = new double[n >= 2 ? n + 1 : n];
        System.arraycopy(ascending, 0, plms, 0, n - 1);
        if (n >= 2) {
            plms[n - 1] = ascending[n - 2];
        }
        plms[plms.length - 1] = ascending[n - 1];
        timesteps = TimestepSpacing.reversed(plms);
        history.clear();
        currentSample = null;
        counter = 0;
    }

    @Override
    public void step(float[] modelOutput, int stepIndex, float[] sample, NoiseSource noise) {
        int timestep = (int) timesteps[stepIndex];
        int stride = trainTimesteps / inferenceSteps;
        int previous = timestep - stride;
        if (counter != 1) {
            float[] reused = history.size() >= 4 ? history.removeFirst() : null;
            history.addLast(copyInto(reused, modelOutput));
        } else {
            previous = timestep;
            timestep = timestep + stride;
        }
        if (combined == null || combined.length != sample.length) {
            combined = new float[sample.length];
        }
        float[] source = sample;
        int size = history.size();
        if (size == 1 && counter == 0) {
            System.arraycopy(modelOutput, 0, combined, 0, sample.length);
            currentSample = copyInto(currentSample, sample);
        } else if (size == 1 && counter == 1) {
            float[] last = history.peekLast();
            for (int i = 0; i < sample.length; i++) {
                combined[i] = (modelOutput[i] + last[i]) / 2;
            }
            source = currentSample;
        } else {
            Iterator<float[]> newestFirst = history.descendingIterator();
            float[] e1 = newestFirst.next();
            float[] e2 = newestFirst.next();
            float[] e3 = size >= 3 ? newestFirst.next() : null;
            float[] e4 = size >= 4 ? newestFirst.next() : null;
            for (int i = 0; i < sample.length; i++) {
                double value;
                if (size == 2) {
                    value = (3.0 * e1[i] - e2[i]) / 2;
                } else if (size == 3) {
                    value = (23.0 * e1[i] - 16.0 * e2[i] + 5.0 * e3[i]) / 12;
                } else {
                    value = (1.0 / 24) * (55.0 * e1[i] - 59.0 * e2[i] + 37.0 * e3[i] - 9.0 * e4[i]);
                }
                combined[i] = (float) value;
            }
        }
        previousSample(source, timestep, previous, combined, sample);
        counter++;
    }

    /** Formula (9) of the PNDM paper, from {@code source} at {@code timestep} into {@code target}. */
    private void previousSample(float[] source, int timestep, int previous, float[] modelOutput, float[] target) {
        double alpha = schedule.alphaCumprod(timestep);
        double alphaPrevious = alphaAt(previous);
        double beta = 1 - alpha;
        double betaPrevious = 1 - alphaPrevious;
        double sampleCoefficient = Math.sqrt(alphaPrevious / alpha);
        double denominator = alpha * Math.sqrt(betaPrevious) + Math.sqrt(alpha * beta * alphaPrevious);
        for (int i = 0; i < source.length; i++) {
            double output = modelOutput[i];
            if (prediction == Prediction.V_PREDICTION) {
                output = Math.sqrt(alpha) * output + Math.sqrt(beta) * source[i];
            }
            target[i] = (float) (sampleCoefficient * source[i] - (alphaPrevious - alpha) * output / denominator);
        }
    }
}
