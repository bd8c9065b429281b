package dev.easel.contracts;

/**
 * A finished job's final record, stored beside its images as {@code {tenant}/{jobId}/job.json}: what was asked, which attempt
 * ran it and how it ended. A retried job finds it and does not run again; the gateway reads it for jobs it no longer
 * holds in memory.
 */
public record FinishedJob(int schemaVersion, JobMessage job, JobEvent.Started started, JobEvent terminal) {
    public static final int SCHEMA_VERSION = 1;

    public static FinishedJob of(JobMessage job, JobEvent.Started started, JobEvent terminal) {
        return new FinishedJob(SCHEMA_VERSION, job, started, terminal);
    }

    public static String objectKey(String tenant, String jobId) {
        return JobMessage.objectPrefix(tenant, jobId) + "job.json";
    }
}
