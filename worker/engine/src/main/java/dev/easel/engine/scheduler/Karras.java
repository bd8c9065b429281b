package dev.easel.engine.scheduler;

/** The noise levels of Karras et al. (2022), "Elucidating the Design Space of Diffusion-Based Generative Models". */
final class Karras {
    private static final double RHO = 7.0;

    private Karras() {
    }

    /**
     * {@code steps} sigmas from sigma_max down to sigma_min, evenly spaced in sigma^(1/rho). The config's
     * {@code sigma_min} and {@code sigma_max} win over the given bounds, as in diffusers.
     */
    static double[] sigmas(SchedulerConfig config, double sigmaMin, double sigmaMax, int steps) {
        double min = config.doubleValue("sigma_min", sigmaMin);
        double max = config.doubleValue("sigma_max", sigmaMax);
        double[] ramp = TimestepSpacing.linspace(0, 1, steps);
        double minInvRho = Math.pow(min, 1 / RHO);
        double maxInvRho = Math.pow(max, 1 / RHO);
        double[] sigmas = new double[steps];
        for (int i = 0; i < steps; i++) {
            sigmas[i] = Math.pow(maxInvRho + ramp[i] * (minInvRho - maxInvRho), RHO);
        }
        return sigmas;
    }
}
