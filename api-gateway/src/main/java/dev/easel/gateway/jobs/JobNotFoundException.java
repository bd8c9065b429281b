package dev.easel.gateway.jobs;

/** No job with that id is known (never submitted, or older than the events topic's retention). */
public final class JobNotFoundException extends RuntimeException {
    public JobNotFoundException(String jobId) {
        super("no job with id '" + jobId + "'");
    }
}
