package dev.easel.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.engine.noise.GaussianNoise;
import org.junit.jupiter.api.Test;

/** Schedules beyond the conformance sample: spacings, Karras endpoints, config overrides, rejected combinations. */
class SchedulerBehaviourTest {
    private static final SchedulerConfig SD15 = SchedulerConfig.stableDiffusion15();

    @Test
    void trailingSpacingEndsAtTheLastTrainingStep() {
        Scheduler ddim = Schedulers.create("ddim", SD15, false, "trailing");
        ddim.setTimesteps(10);
        assertArrayEquals(new double[] {999, 899, 799, 699, 599, 499, 399, 299, 199, 99}, ddim.timesteps());
        Scheduler euler = Schedulers.create("euler", SD15, false, "trailing");
        euler.setTimesteps(4);
        assertArrayEquals(new double[] {999, 749, 499, 249}, euler.timesteps());
    }

    @Test
    void leadingSpacingAddsTheStepsOffsetAndScalesInitialNoise() {
        Scheduler euler = Schedulers.create("euler", SD15, false, "leading");
        euler.setTimesteps(10);
        assertArrayEquals(new double[] {901, 801, 701, 601, 501, 401, 301, 201, 101, 1}, euler.timesteps());
        double sigmaMax = euler.sigmas()[0];
        assertEquals((float) Math.sqrt(sigmaMax * sigmaMax + 1), euler.initNoiseSigma(), 1e-6);
    }

    @Test
    void karrasSigmasRunFromSigmaMaxToSigmaMin() {
        for (String name : Schedulers.KARRAS_CAPABLE) {
            Scheduler scheduler = Schedulers.create(name, SD15, true, null);
            scheduler.setTimesteps(20);
            double[] sigmas = scheduler.sigmas();
            double[] timesteps = scheduler.timesteps();
            assertEquals(14.6146, sigmas[0], 1e-3, name);
            assertEquals(0.0292, sigmas[sigmas.length - 1], 1e-3, name);
            assertEquals(999, timesteps[0], 1e-3, name);
            assertEquals(0, timesteps[timesteps.length - 1], 1e-3, name);
            for (int i = 1; i < sigmas.length; i++) {
                assertTrue(sigmas[i] <= sigmas[i - 1], name + " sigmas descend");
            }
        }
    }

    @Test
    void configKeysOverrideClassDefaults() {
        Scheduler ddim = Schedulers.create("ddim", SD15.with("set_alpha_to_one", true), false, null);
        assertEquals(1.0f, ((AlphaScheduler) ddim).finalAlphaCumprod());
        Scheduler dpm = Schedulers.create("dpmpp_2m", SD15.with("final_sigmas_type", "sigma_min"), false, null);
        dpm.setTimesteps(20);
        double[] all = ((MultistepScheduler) dpm).stepSigmas;
        assertEquals(0.0292, all[all.length - 1], 1e-3);
    }

    @Test
    void unsupportedCombinationsSayWhatToDo() {
        IllegalArgumentException karras = assertThrows(IllegalArgumentException.class,
                () -> Schedulers.create("euler_a", SD15, true, null));
        assertTrue(karras.getMessage().contains("Karras"), karras.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> Schedulers.create("dpm_fast", SD15, false, null));
        assertTrue(unknown.getMessage().contains("euler_a"), unknown.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Schedulers.create("euler", SD15.with("beta_schedule", "sigmoid"), false, null));
    }

    @Test
    void eulerStepReachesTheCleanSampleOfAPerfectDenoiser() {
        // With a model that predicts the exact noise of a known clean sample, the last step lands on it.
        Scheduler euler = Schedulers.create("euler", SD15, false, null);
        euler.setTimesteps(10);
        float[] clean = {0.5f, -1.0f, 2.0f};
        float[] noise = {1.0f, 0.3f, -0.7f};
        float[] sample = new float[3];
        double sigma0 = euler.sigmas()[0];
        for (int i = 0; i < 3; i++) {
            sample[i] = (float) (clean[i] + sigma0 * noise[i]);
        }
        for (int k = 0; k < euler.timesteps().length; k++) {
            double sigma = euler.sigmas()[k];
            float[] epsilon = new float[3];
            for (int i = 0; i < 3; i++) {
                epsilon[i] = (float) ((sample[i] - clean[i]) / sigma);
            }
            euler.step(epsilon, k, sample, new GaussianNoise(0));
        }
        assertArrayEquals(clean, sample, 1e-5f);
    }
}
