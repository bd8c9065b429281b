package dev.easel.engine.model;

/** A model folder that is incomplete or has a signature Easel cannot drive; the message names the file. */
public final class ModelException extends RuntimeException {
    public ModelException(String message) {
        super(message);
    }

    public ModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
