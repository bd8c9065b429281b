package dev.easel.engine.scheduler;

import java.util.Locale;

/**
 * How inference timesteps are placed over the training timesteps (table 2 of "Common Diffusion Noise Schedules and
 * Sample Steps are Flawed"), with numpy's arithmetic: float64 values, round half to even.
 */
public enum TimestepSpacing {
    LINSPACE, LEADING, TRAILING;

    public static TimestepSpacing parse(String value) {
        try {
            return valueOf(value.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "timestep spacing '" + value + "' is not supported; use linspace, leading or trailing");
        }
    }

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** np.linspace(start, stop, count) in float64 (endpoint included). */
    static double[] linspace(double start, double stop, int count) {
        double[] values = new double[count];
        if (count == 1) {
            values[0] = start;
            return values;
        }
        double step = (stop - start) / (count - 1);
        for (int i = 0; i < count; i++) {
            values[i] = i * step + start;
        }
        values[count - 1] = stop;
        return values;
    }

    /** np.arange(start, stop, step) for a negative float step. */
    static double[] arangeDown(double start, double stop, double step) {
        int length = (int) Math.ceil((stop - start) / step);
        double[] values = new double[Math.max(length, 0)];
        for (int i = 0; i < values.length; i++) {
            values[i] = start + i * step;
        }
        return values;
    }

    static double[] reversed(double[] values) {
        double[] result = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            result[i] = values[values.length - 1 - i];
        }
        return result;
    }

    /**
     * Integer timesteps, descending, the way DDIM, DDPM and the sigma schedulers build them for {@code count} steps
     * (linspace here rounds; the Euler family keeps fractional linspace values, see {@link #fractionalLinspace}).
     */
    double[] descending(int trainTimesteps, int count, int stepsOffset) {
        return switch (this) {
            case LINSPACE -> {
                double[] values = linspace(0, trainTimesteps - 1, count);
                for (int i = 0; i < values.length; i++) {
                    values[i] = Math.rint(values[i]);
                }
                yield reversed(values);
            }
            case LEADING -> {
                int ratio = trainTimesteps / count;
                double[] values = new double[count];
                for (int i = 0; i < count; i++) {
                    values[i] = (double) (count - 1 - i) * ratio + stepsOffset;
                }
                yield values;
            }
            case TRAILING -> {
                double[] values = arangeDown(trainTimesteps, 0, -((double) trainTimesteps / count));
                for (int i = 0; i < values.length; i++) {
                    values[i] = Math.rint(values[i]) - 1;
                }
                yield values;
            }
        };
    }

    /** np.linspace(0, T - 1, count, dtype=float32)[::-1]: fractional timesteps of the Euler family. */
    static double[] fractionalLinspace(int trainTimesteps, int count) {
        double[] values = linspace(0, trainTimesteps - 1, count);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) values[i];
        }
        return reversed(values);
    }
}
