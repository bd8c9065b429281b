package dev.easel.gateway.jobs;

import dev.easel.contracts.JobEvent;
import java.util.List;

/**
 * A job's lifecycle as the gateways hold it, kept on the compacted {@code easel.job-state} topic (key: job id) so a
 * starting gateway need not replay every event ever published. Progress is left out: a client that resumes a live
 * job's stream gets it from the job's partition of {@code easel.events}, from {@code firstEventId} on.
 *
 * @param partition    the job's partition of {@code easel.events}
 * @param firstEventId the offset there of the job's first event
 * @param lastEventId  the offset of the last event folded into this snapshot (progress included)
 * @param lifecycle    queued, requeued, started and terminal events, each with its offset, in topic order
 */
public record JobSnapshot(String jobId, int partition, long firstEventId, long lastEventId, List<Entry> lifecycle) {
    /** One lifecycle event and its offset in the events topic (its SSE id). */
    public record Entry(long id, JobEvent event) {
    }
}
