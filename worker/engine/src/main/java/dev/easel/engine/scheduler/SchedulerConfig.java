package dev.easel.engine.scheduler;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The keys of a diffusers {@code scheduler_config.json}. Like diffusers' {@code from_config}, a scheduler reads the keys
 * it knows and falls back to its own default for every key the file does not have.
 */
public final class SchedulerConfig {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Object> values;

    private SchedulerConfig(Map<String, Object> values) {
        this.values = Map.copyOf(values);
    }

    /** The Stable Diffusion 1.5 scheduler configuration, as its {@code scheduler/scheduler_config.json} ships it. */
    public static SchedulerConfig stableDiffusion15() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("_class_name", "PNDMScheduler");
        values.put("num_train_timesteps", 1000);
        values.put("beta_start", 0.00085);
        values.put("beta_end", 0.012);
        values.put("beta_schedule", "scaled_linear");
        values.put("steps_offset", 1);
        values.put("set_alpha_to_one", false);
        values.put("clip_sample", false);
        values.put("skip_prk_steps", true);
        values.put("prediction_type", "epsilon");
        return new SchedulerConfig(values);
    }

    public static SchedulerConfig of(Map<String, ?> values) {
        Map<String, Object> copy = new LinkedHashMap<>();
        values.forEach((key, value) -> {
            if (value != null) {
                copy.put(key, value);
            }
        });
        return new SchedulerConfig(copy);
    }

    @SuppressWarnings("unchecked")
    public static SchedulerConfig read(Path file) throws IOException {
        return of(JSON.readValue(file.toFile(), Map.class));
    }

    /** A copy with {@code key} set to {@code value}; a null value removes the key. */
    public SchedulerConfig with(String key, Object value) {
        Map<String, Object> copy = new LinkedHashMap<>(values);
        if (value == null) {
            copy.remove(key);
        } else {
            copy.put(key, value);
        }
        return new SchedulerConfig(copy);
    }

    public int intValue(String key, int defaultValue) {
        Object value = values.get(key);
        if (value == null) {
            return defaultValue;
        }
        if (value instanceof Number number) {
            return number.intValue();
        }
        throw invalid(key, value, "an integer");
    }

    public double doubleValue(String key, double defaultValue) {
        Object value = values.get(key);
        if (value == null) {
            return defaultValue;
        }
        if (value instanceof Number number) {
            return number.doubleValue();
        }
        throw invalid(key, value, "a number");
    }

    public boolean booleanValue(String key, boolean defaultValue) {
        Object value = values.get(key);
        if (value == null) {
            return defaultValue;
        }
        if (value instanceof Boolean bool) {
            return bool;
        }
        throw invalid(key, value, "true or false");
    }

    public String stringValue(String key, String defaultValue) {
        Object value = values.get(key);
        if (value == null) {
            return defaultValue;
        }
        if (value instanceof String string) {
            return string;
        }
        throw invalid(key, value, "a string");
    }

    /** A list of numbers ({@code trained_betas}), or null when absent. */
    public double[] doubleArray(String key) {
        Object value = values.get(key);
        if (value == null) {
            return null;
        }
        if (value instanceof List<?> list) {
            double[] result = new double[list.size()];
            for (int i = 0; i < result.length; i++) {
                if (!(list.get(i) instanceof Number number)) {
                    throw invalid(key, value, "a list of numbers");
                }
                result[i] = number.doubleValue();
            }
            return result;
        }
        throw invalid(key, value, "a list of numbers");
    }

    public Map<String, Object> asMap() {
        return values;
    }

    private static IllegalArgumentException invalid(String key, Object value, String expected) {
        return new IllegalArgumentException(
                "scheduler config key '" + key + "' is " + value + "; expected " + expected);
    }
}
