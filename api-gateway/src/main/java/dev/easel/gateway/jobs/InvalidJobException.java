package dev.easel.gateway.jobs;

import dev.easel.contracts.FieldError;
import java.util.List;
import java.util.Map;

/**
 * A job request that breaks limits; answered with 400, the offending fields and the limits concerned, and nothing is
 * published.
 */
public final class InvalidJobException extends RuntimeException {
    private final transient List<FieldError> errors;
    private final transient Map<String, Object> limits;

    public InvalidJobException(List<FieldError> errors) {
        this(errors, Map.of());
    }

    public InvalidJobException(List<FieldError> errors, Map<String, Object> limits) {
        super(errors.stream().map(FieldError::toString).reduce((a, b) -> a + "; " + b).orElse("invalid request"));
        this.errors = List.copyOf(errors);
        this.limits = Map.copyOf(limits);
    }

    public List<FieldError> errors() {
        return errors;
    }

    public Map<String, Object> limits() {
        return limits;
    }
}
