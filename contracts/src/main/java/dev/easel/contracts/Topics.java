package dev.easel.contracts;

/** The Kafka topics Easel uses. Jobs and events are keyed by job id, so one job's messages stay in order. */
public final class Topics {
    /** Job requests, consumed by the workers as one consumer group. */
    public static final String JOBS = "easel.jobs";
    /** Every job's events (queued, started, progress, completed, failed, cancelled): the source of job state. */
    public static final String EVENTS = "easel.events";
    /** Jobs a worker could not process (unreadable or failing for good), with the reason in headers. */
    public static final String DEAD_LETTER = "easel.jobs.dlq";
    /** Cancellation requests, read by every worker. */
    public static final String CONTROL = "easel.control";

    private Topics() {
    }
}
