package dev.easel.engine.pipeline;

import java.util.List;
import java.util.stream.Collectors;

/** A request that breaks a limit or names something the model cannot do; nothing was generated. */
public final class InvalidRequestException extends RuntimeException {
    private final transient List<GenerationRequest.FieldError> errors;

    public InvalidRequestException(List<GenerationRequest.FieldError> errors) {
        super(errors.stream().map(GenerationRequest.FieldError::toString).collect(Collectors.joining("; ")));
        this.errors = List.copyOf(errors);
    }

    public InvalidRequestException(String field, String message) {
        this(List.of(new GenerationRequest.FieldError(field, message)));
    }

    public List<GenerationRequest.FieldError> errors() {
        return errors;
    }
}
