package dev.easel.gateway.tenants;

/**
 * An {@code Idempotency-Key} that cannot be honoured: reused with another body (422), or its first submit still under
 * way (409).
 */
public final class IdempotencyConflictException extends RuntimeException {
    private final int status;

    public IdempotencyConflictException(int status, String message) {
        super(message);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
