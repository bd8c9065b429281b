package dev.easel.gateway.jobs;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.easel.contracts.JobEvent;
import java.util.List;

/**
 * A job as {@code GET /v1/jobs/{id}} shows it. While it is queued, {@code queuePosition} and {@code startEtaMillis}
 * (how long until it starts) are estimates from the broker's figures and the model's recent run times.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JobView(
        String id,
        String status,
        Long seed,
        Integer queuePosition,
        Long startEtaMillis,
        Progress progress,
        int attempt,
        String requeueReason,
        String workerId,
        String workerState,
        String executionProvider,
        List<Image> images,
        Error error,
        String cancelReason,
        Long submittedAtMillis,
        long updatedAtMillis,
        Links links) {

    /** The last reported step. */
    public record Progress(int imageIndex, int step, int total, double timestep, Double sigma, long elapsedMillis,
            long etaMillis) {
        static Progress of(JobEvent.Progress p) {
            return p == null ? null : new Progress(p.imageIndex(), p.step(), p.total(), p.timestep(), p.sigma(),
                    p.elapsedMillis(), p.etaMillis());
        }
    }

    /** A stored image with a presigned URL and the gateway link that redirects to it. */
    public record Image(int index, String url, String link, String objectKey, int width, int height, long seed) {
    }

    /** Why the job failed; {@code attempts} above 1 means Easel retried it before giving up. */
    public record Error(String code, String message, boolean retryable, int attempts) {
    }

    /** Where to find the job and its event stream. */
    public record Links(String self, String events) {
        static Links of(String id) {
            return new Links("/v1/jobs/" + id, "/v1/jobs/" + id + "/events");
        }
    }
}
