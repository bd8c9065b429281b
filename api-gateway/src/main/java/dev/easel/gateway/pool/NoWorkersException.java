package dev.easel.gateway.pool;

/** No live worker serves any model, so a job could not start: answered with 503 and nothing is published. */
public final class NoWorkersException extends RuntimeException {
    public NoWorkersException(String message) {
        super(message);
    }
}
