package dev.easel.contracts;

import java.util.regex.Pattern;

/**
 * The Kafka topics Easel uses. Jobs and events are keyed by job id, so one job's messages stay in order. Each model has
 * its own job queue, so a worker receives only jobs for models it serves.
 */
public final class Topics {
    /** The prefix of the job queues: {@code easel.jobs.<model id>}, consumed by the workers as one share group. */
    public static final String JOBS_PREFIX = "easel.jobs.";
    /** Every job's events (queued, requeued, started, progress, completed, failed, cancelled). */
    public static final String EVENTS = "easel.events";
    /** Jobs that ended without a result for good (unreadable, failing, or out of attempts), with the reason in headers. */
    public static final String DEAD_LETTER = "easel.jobs.dlq";
    /** Cancellation requests, read by every worker. */
    public static final String CONTROL = "easel.control";
    /** Worker announcements (compacted, key: worker id): what each worker serves and whether it is alive. */
    public static final String WORKERS = "easel.workers";
    /**
     * Each live or recently finished job's lifecycle (compacted, key: job id), written and read by the gateways only, so
     * a starting gateway restores its jobs without replaying the events topic from its beginning.
     */
    public static final String JOB_STATE = "easel.job-state";
    /** API keys (compacted, key: key id; a tombstone revokes one), written by {@code easel keys}, read by the gateways. */
    public static final String API_KEYS = "easel.api-keys";
    /**
     * Submits with an {@code Idempotency-Key} (compacted, and deleted after a day; key: tenant/idempotency key), read by
     * every gateway replica.
     */
    public static final String IDEMPOTENCY = "easel.idempotency";
    /** The workers' share group on the job queues. */
    public static final String WORKER_GROUP = "easel-workers";

    /** Model ids become part of a topic name: letters, digits, '.', '_' and '-'. */
    private static final Pattern MODEL_ID = Pattern.compile("[A-Za-z0-9._-]{1,200}");

    private Topics() {
    }

    /** The job queue of {@code modelId}. */
    public static String jobs(String modelId) {
        if (!isValidModelId(modelId)) {
            throw new IllegalArgumentException("model id '" + modelId + "' may hold only letters, digits, '.', '_' and"
                    + " '-' (at most 200); rename the model folder");
        }
        return JOBS_PREFIX + modelId;
    }

    public static boolean isValidModelId(String modelId) {
        return modelId != null && MODEL_ID.matcher(modelId).matches() && !modelId.equals("dlq");
    }
}
