package dev.easel.engine.scheduler;

/** What the denoising model predicts ({@code prediction_type} in the scheduler config). */
public enum Prediction {
    EPSILON, V_PREDICTION, SAMPLE;

    public static Prediction fromConfig(SchedulerConfig config) {
        String value = config.stringValue("prediction_type", "epsilon");
        return switch (value) {
            case "epsilon" -> EPSILON;
            case "v_prediction" -> V_PREDICTION;
            case "sample" -> SAMPLE;
            default -> throw new IllegalArgumentException("scheduler config prediction_type '" + value
                    + "' is not supported; use epsilon, v_prediction or sample");
        };
    }
}
