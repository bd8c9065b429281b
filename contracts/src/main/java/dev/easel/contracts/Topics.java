package dev.easel.contracts;

import java.util.Map;
import java.util.Optional;
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

    /**
     * How a topic is created: its partitions (empty: the broker's default) and its configs. Whoever comes first creates
     * a topic with this policy (gateways, workers, {@code easel keys}), never leaving it to auto-creation.
     */
    public record Policy(String name, Optional<Integer> partitions, Map<String, String> configs) {
    }

    private static final Map<String, String> COMPACTED = Map.of("cleanup.policy", "compact");

    /** A model's job queue: one partition (a share group lets any number of workers consume it, in order). */
    public static Policy jobQueuePolicy(String modelId) {
        return new Policy(jobs(modelId), Optional.of(1), Map.of());
    }

    /** The events, kept for {@code retentionHours} (a client can resume a stream, a gateway be down, this long). */
    public static Policy eventsPolicy(long retentionHours) {
        return new Policy(EVENTS, Optional.empty(), Map.of("retention.ms", Long.toString(retentionHours * 3_600_000L)));
    }

    /** The gateways' job state: compacted with small, frequently cleaned segments (it is read at every start). */
    public static Policy jobStatePolicy() {
        return new Policy(JOB_STATE, Optional.of(1), Map.of("cleanup.policy", "compact", "segment.bytes",
                Integer.toString(16 << 20), "segment.ms", "600000", "min.cleanable.dirty.ratio", "0.1",
                "delete.retention.ms", "600000"));
    }

    /** The workers' announcements: compacted, one record per worker. */
    public static Policy workersPolicy() {
        return new Policy(WORKERS, Optional.of(1), COMPACTED);
    }

    /** The API keys: compacted, one record per key. */
    public static Policy apiKeysPolicy() {
        return new Policy(API_KEYS, Optional.of(1), COMPACTED);
    }

    /** Idempotent submits: compacted, and deleted a little after {@code retentionHours}. */
    public static Policy idempotencyPolicy(long retentionHours) {
        return new Policy(IDEMPOTENCY, Optional.of(1), Map.of("cleanup.policy", "compact,delete", "retention.ms",
                Long.toString(retentionHours * 3_600_000L + 3_600_000L), "segment.ms", "3600000"));
    }

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
