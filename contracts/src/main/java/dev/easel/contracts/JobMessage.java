package dev.easel.contracts;

/**
 * A job on {@code easel.jobs} (key: job id): the request with its seed resolved, as the gateway accepted it, and the
 * tenant whose key submitted it (its objects go under the tenant's prefix).
 */
public record JobMessage(int schemaVersion, String jobId, String tenant, long submittedAtMillis, JobRequest request) {
    public static final int SCHEMA_VERSION = 1;

    public static JobMessage of(String jobId, String tenant, long submittedAtMillis, JobRequest request) {
        return new JobMessage(SCHEMA_VERSION, jobId, tenant, submittedAtMillis, request);
    }

    /** Where the job's objects go in the bucket: {@code {tenant}/{jobId}/}. */
    public static String objectPrefix(String tenant, String jobId) {
        return tenant + "/" + jobId + "/";
    }
}
