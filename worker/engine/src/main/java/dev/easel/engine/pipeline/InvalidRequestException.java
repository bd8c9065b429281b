package dev.easel.engine.pipeline;

import dev.easel.contracts.FieldError;
import java.util.List;
import java.util.stream.Collectors;

/** A request that breaks a limit or names something the model cannot do; nothing was generated. */
public final class InvalidRequestException extends RuntimeException {
    private final transient List<FieldError> errors;

    public InvalidRequestException(List<FieldError> errors) {
        super(errors.stream().map(FieldError::toString).collect(Collectors.joining("; ")));
        this.errors = List.copyOf(errors);
    }

    public InvalidRequestException(String field, String message) {
        this(List.of(new FieldError(field, message)));
    }

    public List<FieldError> errors() {
        return errors;
    }
}
