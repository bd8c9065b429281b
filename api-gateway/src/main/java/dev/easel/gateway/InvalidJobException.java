package dev.easel.gateway;

import dev.easel.contracts.FieldError;
import java.util.List;

/** A job request that breaks limits; answered with 400 and the offending fields, and nothing is published. */
public final class InvalidJobException extends RuntimeException {
    private final transient List<FieldError> errors;

    public InvalidJobException(List<FieldError> errors) {
        super(errors.stream().map(FieldError::toString).reduce((a, b) -> a + "; " + b).orElse("invalid request"));
        this.errors = List.copyOf(errors);
    }

    public List<FieldError> errors() {
        return errors;
    }
}
