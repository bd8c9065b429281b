package dev.easel.contracts;

/** A job on {@code easel.jobs} (key: job id): the request with its seed resolved, as the gateway accepted it. */
public record JobMessage(int schemaVersion, String jobId, long submittedAtMillis, JobRequest request) {
    public static final int SCHEMA_VERSION = 1;

    public static JobMessage of(String jobId, long submittedAtMillis, JobRequest request) {
        return new JobMessage(SCHEMA_VERSION, jobId, submittedAtMillis, request);
    }
}
