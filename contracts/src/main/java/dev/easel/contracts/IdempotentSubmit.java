package dev.easel.contracts;

/**
 * A submit that carried an {@code Idempotency-Key}, on {@code easel.idempotency} (compacted and time-limited; key:
 * {@link #recordKey}): every gateway replica answers a retry with the same key and body with the same job.
 *
 * @param requestHash the hex SHA-256 of the request as the client sent it, to tell a retry from another request
 */
public record IdempotentSubmit(int schemaVersion, String tenant, String idempotencyKey, String jobId,
        String requestHash, long atMillis) {
    public static final int SCHEMA_VERSION = 1;

    public static IdempotentSubmit of(String tenant, String idempotencyKey, String jobId, String requestHash,
            long atMillis) {
        return new IdempotentSubmit(SCHEMA_VERSION, tenant, idempotencyKey, jobId, requestHash, atMillis);
    }

    /** The record's key: one per tenant and idempotency key. */
    public static String recordKey(String tenant, String idempotencyKey) {
        return tenant + "/" + idempotencyKey;
    }
}
