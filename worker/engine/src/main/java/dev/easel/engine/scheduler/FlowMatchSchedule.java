package dev.easel.engine.scheduler;

/**
 * The flow-matching Euler schedule of SD3 (diffusers' FlowMatchEulerDiscreteScheduler with a fixed shift, no dynamic
 * shifting): {@code sigmas} has the N steps' sigmas then 0, {@code timesteps} the N values the transformer gets
 * (sigma x 1000 in float32). A step moves the latents by {@code (sigma[i+1] - sigma[i]) x velocity}; image-to-image
 * starts at step {@code startIndex} from {@code sigma x noise + (1 - sigma) x picture}.
 */
public record FlowMatchSchedule(float[] sigmas, float[] timesteps) {

    /**
     * The schedule of {@code steps} for a model trained on {@code trainTimesteps} with {@code shift}, computed as
     * diffusers does: the training table's last sigma (shifted once, in float32) bounds a float64 linspace, which is
     * shifted again and rounded to float32.
     */
    public static FlowMatchSchedule of(double shift, int trainTimesteps, int steps) {
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be at least 1, got " + steps);
        }
        float shift32 = (float) shift;
        float u = 1f / trainTimesteps;
        float sigmaMin = shift32 * u / (1f + (shift32 - 1f) * u);
        double start = 1.0 * trainTimesteps;
        double stop = (double) sigmaMin * trainTimesteps;
        float[] sigmas = new float[steps + 1];
        float[] timesteps = new float[steps];
        double step = steps > 1 ? (stop - start) / (steps - 1) : 0;
        for (int i = 0; i < steps; i++) {
            // numpy's linspace: i x step + start, the last exactly the end point.
            double t = steps > 1 && i == steps - 1 ? stop : i * step + start;
            double s = t / trainTimesteps;
            sigmas[i] = (float) (shift * s / (1 + (shift - 1) * s));
            timesteps[i] = sigmas[i] * 1000f;
        }
        sigmas[steps] = 0f;
        return new FlowMatchSchedule(sigmas, timesteps);
    }

    public int steps() {
        return timesteps.length;
    }

    /** Where image-to-image of {@code strength} starts (diffusers' {@code int(max(N - min(N x strength, N), 0))}). */
    public int startIndex(double strength) {
        int steps = steps();
        return (int) Math.max(steps - Math.min(steps * strength, steps), 0);
    }
}
