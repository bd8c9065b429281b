package dev.easel.contracts;

/** A request field that breaks a limit, and what is allowed. */
public record FieldError(String field, String message) {
    @Override
    public String toString() {
        return field + " " + message;
    }
}
