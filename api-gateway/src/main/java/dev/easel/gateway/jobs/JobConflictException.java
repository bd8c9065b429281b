package dev.easel.gateway.jobs;

/** A request the job's state does not allow (cancelling a finished job, fetching images of an unfinished one): 409. */
public class JobConflictException extends RuntimeException {
    private final String title;

    public JobConflictException(String title, String detail) {
        super(detail);
        this.title = title;
    }

    public String title() {
        return title;
    }
}
