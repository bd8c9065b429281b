package dev.easel.engine.scheduler;

/** What every scheduler shares: the config, the training noise schedule and the current timesteps. */
abstract class BaseScheduler implements Scheduler {
    protected final SchedulerConfig config;
    protected final NoiseSchedule schedule;
    protected final Prediction prediction;
    protected final TimestepSpacing spacing;
    protected final int stepsOffset;
    protected final int trainTimesteps;
    protected double[] timesteps = new double[0];
    protected int inferenceSteps;

    BaseScheduler(SchedulerConfig config, String defaultSpacing) {
        this.config = config;
        this.schedule = NoiseSchedule.fromConfig(config);
        this.prediction = Prediction.fromConfig(config);
        this.spacing = TimestepSpacing.parse(config.stringValue("timestep_spacing", defaultSpacing));
        this.stepsOffset = config.intValue("steps_offset", 0);
        this.trainTimesteps = schedule.trainTimesteps();
    }

    @Override
    public double[] timesteps() {
        return timesteps.clone();
    }

    @Override
    public double[] sigmas() {
        return null;
    }

    protected static void requireSteps(int steps) {
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be at least 1, got " + steps);
        }
    }

    /** Copies {@code source} into {@code target}, allocating it only when the size changes. */
    protected static float[] copyInto(float[] target, float[] source) {
        if (target == null || target.length != source.length) {
            target = new float[source.length];
        }
        System.arraycopy(source, 0, target, 0, source.length);
        return target;
    }
}
