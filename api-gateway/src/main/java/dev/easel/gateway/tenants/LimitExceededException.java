package dev.easel.gateway.tenants;

import java.util.Map;

/** A key went over its submit rate or its active-job cap: 429 with {@code Retry-After} and the limits in the body. */
public final class LimitExceededException extends RuntimeException {
    private final long retryAfterSeconds;
    private final Map<String, Object> limits;

    public LimitExceededException(String message, long retryAfterSeconds, Map<String, Object> limits) {
        super(message);
        this.retryAfterSeconds = retryAfterSeconds;
        this.limits = Map.copyOf(limits);
    }

    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public Map<String, Object> limits() {
        return limits;
    }
}
