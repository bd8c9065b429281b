package dev.easel.contracts;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.List;

/**
 * An event on {@code easel.events} (key: job id). The JSON carries {@code "type"}: queued, requeued, loading, started,
 * progress, completed, failed or cancelled; the last three end the job.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(value = JobEvent.Queued.class, name = "queued"),
    @JsonSubTypes.Type(value = JobEvent.Requeued.class, name = "requeued"),
    @JsonSubTypes.Type(value = JobEvent.Loading.class, name = "loading"),
    @JsonSubTypes.Type(value = JobEvent.Started.class, name = "started"),
    @JsonSubTypes.Type(value = JobEvent.Progress.class, name = "progress"),
    @JsonSubTypes.Type(value = JobEvent.Completed.class, name = "completed"),
    @JsonSubTypes.Type(value = JobEvent.Failed.class, name = "failed"),
    @JsonSubTypes.Type(value = JobEvent.Cancelled.class, name = "cancelled")})
@JsonInclude(JsonInclude.Include.NON_NULL)
public sealed interface JobEvent {
    int SCHEMA_VERSION = 1;

    int schemaVersion();

    String jobId();

    long atMillis();

    /** The SSE event name and the JSON {@code type}. */
    @JsonIgnore
    default String type() {
        return switch (this) {
            case Queued q -> "queued";
            case Requeued r -> "requeued";
            case Loading l -> "loading";
            case Started s -> "started";
            case Progress p -> "progress";
            case Completed c -> "completed";
            case Failed f -> "failed";
            case Cancelled c -> "cancelled";
        };
    }

    @JsonIgnore
    default boolean isTerminal() {
        return this instanceof Completed || this instanceof Failed || this instanceof Cancelled;
    }

    /**
     * Accepted and on the queue of {@code model}; {@code seed} is the request's seed (drawn by the gateway when
     * absent); {@code tenant} owns the job: only its keys see it. {@code keyId} is the key that submitted it and
     * {@code webhook} where its events go (both absent without a webhook): deliveries are signed with that key's
     * webhook secret. {@code noise} is the noise source the seed drives (torch or easel).
     */
    record Queued(int schemaVersion, String jobId, long atMillis, long seed, int totalSteps, String model,
            String tenant, String keyId, JobRequest.Webhook webhook, String noise) implements JobEvent {
        public Queued(String jobId, long atMillis, long seed, int totalSteps, String model, String tenant) {
            this(SCHEMA_VERSION, jobId, atMillis, seed, totalSteps, model, tenant, null, null, null);
        }
    }

    /**
     * An earlier attempt ended without a result (its worker vanished, shut down, or could not store the images) and the
     * job is back on the queue; {@code attempt} is the attempt that comes next (2 for the first retry).
     */
    record Requeued(int schemaVersion, String jobId, long atMillis, int attempt, String reason) implements JobEvent {
        public Requeued(String jobId, long atMillis, int attempt, String reason) {
            this(SCHEMA_VERSION, jobId, atMillis, attempt, reason);
        }
    }

    /**
     * A worker took the job and loads its model first (the device did not hold it): {@code model} on
     * {@code workerId}, expected to take {@code estimatedMillis} (the model's last load there, else an estimate from its
     * size); {@code started} follows once it is loaded.
     */
    record Loading(int schemaVersion, String jobId, long atMillis, String workerId, String model,
            Long estimatedMillis, int attempt) implements JobEvent {
        public Loading(String jobId, long atMillis, String workerId, String model, Long estimatedMillis, int attempt) {
            this(SCHEMA_VERSION, jobId, atMillis, workerId, model, estimatedMillis, attempt);
        }
    }

    /**
     * A worker took the job; {@code attempt} counts deliveries of the job (1 the first time). {@code deviceIdleMillis}
     * is how long the device stood idle since its previous generation ended (absent for a device's first job): with a
     * backlog it is the pool's own delay between jobs.
     */
    record Started(int schemaVersion, String jobId, long atMillis, String workerId, String executionProvider,
            int totalSteps, int attempt, Long deviceIdleMillis) implements JobEvent {
        public Started(String jobId, long atMillis, String workerId, String executionProvider, int totalSteps,
                int attempt, Long deviceIdleMillis) {
            this(SCHEMA_VERSION, jobId, atMillis, workerId, executionProvider, totalSteps, attempt, deviceIdleMillis);
        }
    }

    /**
     * One denoising step of image {@code imageIndex}: step of total (1-based), the scheduler's timestep and sigma (null
     * when the scheduler has none), time since start and the estimated time to the end of the job, and a base64 PNG
     * preview of the latents when previews were asked for.
     */
    record Progress(int schemaVersion, String jobId, long atMillis, int imageIndex, int step, int total,
            double timestep, Double sigma, long elapsedMillis, long etaMillis, String preview, Integer pass)
            implements JobEvent {
        public Progress(String jobId, long atMillis, int imageIndex, int step, int total, double timestep, Double sigma,
                long elapsedMillis, long etaMillis, String preview) {
            this(SCHEMA_VERSION, jobId, atMillis, imageIndex, step, total, timestep, sigma, elapsedMillis, etaMillis,
                    preview, null);
        }
    }

    /** Done: the images are stored; URLs are filled in by the gateway when it serves them. */
    record Completed(int schemaVersion, String jobId, long atMillis, List<Image> images, Timings timings)
            implements JobEvent {
        public Completed(String jobId, long atMillis, List<Image> images, Timings timings) {
            this(SCHEMA_VERSION, jobId, atMillis, images, timings);
        }
    }

    /**
     * The job failed after {@code attempts} attempts (more than 1: Easel retried it); {@code retryable} says whether
     * submitting it again may succeed.
     */
    record Failed(int schemaVersion, String jobId, long atMillis, String code, String message, boolean retryable,
            int attempts) implements JobEvent {
        public Failed(String jobId, long atMillis, String code, String message, boolean retryable, int attempts) {
            this(SCHEMA_VERSION, jobId, atMillis, code, message, retryable, attempts);
        }
    }

    /** The job was cancelled before it finished. */
    record Cancelled(int schemaVersion, String jobId, long atMillis, String reason) implements JobEvent {
        public Cancelled(String jobId, long atMillis, String reason) {
            this(SCHEMA_VERSION, jobId, atMillis, reason);
        }
    }

    /** One stored image: object key in the bucket, size, seed; {@code url} is set by the gateway (presigned). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Image(int index, String bucket, String objectKey, String url, int width, int height, long seed) {
        public Image withUrl(String newUrl) {
            return new Image(index, bucket, objectKey, newUrl, width, height, seed);
        }
    }

    /** Where the time went: waiting in the queue, inside the engine, uploading, and end to end. */
    record Timings(long queueMillis, long engineMillis, long uploadMillis, long totalMillis) {
    }
}
