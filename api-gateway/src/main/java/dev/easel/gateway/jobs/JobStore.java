package dev.easel.gateway.jobs;

import dev.easel.gateway.observability.GatewayMetrics;
import dev.easel.gateway.pool.QueueFigures;
import dev.easel.gateway.storage.FinishedJobs;

import dev.easel.contracts.JobEvent;
import dev.easel.contracts.Json;
import dev.easel.contracts.FinishedJob;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Jobs' state, folded from {@code easel.events}: a restarted gateway, or a second one, arrives at the same state as any
 * other without a database. Each change of a job's lifecycle is kept on {@code easel.job-state} ({@link JobStateLog}),
 * from which a starting gateway restores what it held. Live jobs stay in memory; finished ones only up to
 * {@code easel.jobs.finished-max} of them and for {@code easel.jobs.finished-ttl-seconds}, after which their final
 * record in the bucket answers for them.
 */
@ApplicationScoped
public class JobStore {
    private static final Logger LOG = Logger.getLogger(JobStore.class);

    /** A finished job and when it finished, oldest first. */
    private record Finished(String jobId, long atMillis) {
    }

    @Inject
    FinishedJobs finishedJobs;

    @Inject
    JobStateLog stateLog;

    @Inject
    QueueFigures queues;

    @Inject
    GatewayMetrics metrics;

    @ConfigProperty(name = "easel.jobs.finished-max", defaultValue = "10000")
    int finishedMax;

    @ConfigProperty(name = "easel.jobs.finished-ttl-seconds", defaultValue = "3600")
    long finishedTtlSeconds;

    private final Map<String, JobState> jobs = new ConcurrentHashMap<>();
    /** Per tenant, the ids of its jobs queued or running: a submit checks the tenant's limit without a scan. */
    private final Map<String, Set<String>> activeByTenant = new ConcurrentHashMap<>();
    /** Touched only by the thread that folds the events (size() is O(1), unlike a concurrent deque's). */
    private final java.util.ArrayDeque<Finished> finished = new java.util.ArrayDeque<>();

    /** Folds one record of the events topic into its job's state. */
    public void onEvent(ConsumerRecord<String, String> record) {
        JobEvent event;
        try {
            event = Json.read(record.value(), JobEvent.class);
        } catch (IllegalArgumentException e) {
            LOG.warnf("ignoring an unreadable event of job %s at %d/%d: %s", record.key(), record.partition(),
                    record.offset(), e.getMessage());
            return;
        }
        if (!jobs.containsKey(event.jobId()) && !(event instanceof JobEvent.Queued) && !event.isTerminal()) {
            return; // a late event of a job that already left memory (or never had its queued event here)
        }
        JobState state = state(event.jobId());
        if (!state.apply(new JobState.StoredEvent(record.offset(), event, record.value()), record.partition())) {
            return;
        }
        if (!(event instanceof JobEvent.Progress)) {
            stateLog.write(state.snapshot());
            trackActive(state);
        }
        if (event instanceof JobEvent.Completed && state.started() != null) {
            queues.jobRan(state.model(), event.atMillis() - state.started().atMillis());
        }
        if (state.isTerminal()) {
            metrics.ended(state.model(), event);
            finished.addLast(new Finished(event.jobId(), event.atMillis()));
            evictFinished();
        }
    }

    /**
     * Takes the jobs a starting gateway found on {@code easel.job-state}; events from {@code replayFrom} (per partition
     * of the events topic) on will be replayed into them.
     */
    public void restore(java.util.Collection<JobSnapshot> snapshots, Map<Integer, Long> replayFrom) {
        List<Finished> done = new java.util.ArrayList<>();
        for (JobSnapshot snapshot : snapshots) {
            JobState state = JobState.restored(snapshot, replayFrom.getOrDefault(snapshot.partition(), 0L));
            jobs.put(state.id(), state);
            trackActive(state);
            if (state.isTerminal()) {
                done.add(new Finished(state.id(), state.terminal().atMillis()));
            }
        }
        done.sort(java.util.Comparator.comparingLong(Finished::atMillis));
        finished.addAll(done);
        evictFinished();
    }

    /** Every job held in memory, as snapshots for {@code easel.job-state}. */
    public List<JobSnapshot> snapshots() {
        return jobs.values().stream().map(JobState::snapshot).filter(java.util.Objects::nonNull).toList();
    }

    /** Drops the oldest finished jobs beyond the count or the age (by their own clock, so a replay drops them too). */
    private void evictFinished() {
        long oldest = System.currentTimeMillis() - finishedTtlSeconds * 1000;
        for (Finished head = finished.peekFirst(); head != null && (finished.size() > finishedMax
                || head.atMillis() < oldest); head = finished.peekFirst()) {
            finished.pollFirst();
            if (jobs.computeIfPresent(head.jobId(), (id, state) -> state.isTerminal() ? null : state) == null) {
                stateLog.forget(head.jobId());
            }
        }
    }

    /** How many jobs are held in memory (live and recently finished). */
    public int size() {
        return jobs.size();
    }

    void submitted(JobEvent.Queued queued, long queueOffset) {
        JobState state = state(queued.jobId());
        state.submitted(queued, queueOffset);
        trackActive(state);
    }

    /**
     * Counts the job among its tenant's active ones, or no longer. Checked again after adding: the events' thread may
     * have ended the job meanwhile, and removes it only after ending it, so no ended job stays counted.
     */
    private void trackActive(JobState state) {
        String tenant = state.tenant();
        if (tenant == null) {
            return;
        }
        Set<String> active = activeByTenant.computeIfAbsent(tenant, t -> ConcurrentHashMap.newKeySet());
        if (!state.isTerminal()) {
            active.add(state.id());
        }
        if (state.isTerminal()) {
            active.remove(state.id());
        }
    }

    private JobState state(String jobId) {
        return jobs.computeIfAbsent(jobId, JobState::new);
    }

    /**
     * The tenant's job as held in memory or, once it left memory, as its final record in the bucket says. Another
     * tenant's job is not found, exactly like one that does not exist, so ids reveal nothing across tenants.
     */
    public JobState require(String tenant, String jobId) {
        JobState state = jobs.get(jobId);
        if (state != null) {
            if (!tenant.equals(state.tenant())) {
                throw new JobNotFoundException(jobId);
            }
            return state;
        }
        return finishedJobs.read(tenant, jobId).map(JobStore::fromRecord)
                .orElseThrow(() -> new JobNotFoundException(jobId));
    }

    /** The job if this gateway holds it in memory, whoever owns it (for the gateway's own use, never for a caller). */
    public Optional<JobState> find(String jobId) {
        return Optional.ofNullable(jobs.get(jobId));
    }

    /** The ids of the tenant's jobs held in memory. */
    List<String> ids(String tenant) {
        return jobs.values().stream().filter(state -> tenant.equals(state.tenant())).map(JobState::id).toList();
    }

    /** The tenant's jobs queued or running, as this replica knows them. */
    public long activeJobs(String tenant) {
        Set<String> active = activeByTenant.get(tenant);
        return active == null ? 0 : active.size();
    }

    /** A finished job from its final record: queued, started (when it ran) and the terminal event, numbered 0, 1, 2. */
    private static JobState fromRecord(FinishedJob record) {
        var job = record.job();
        JobState state = new JobState(job.jobId());
        long id = 0;
        JobEvent.Queued queued = new JobEvent.Queued(job.jobId(), job.submittedAtMillis(),
                job.request().seed() == null ? 0 : job.request().seed(), job.request().steps(), job.request().model(),
                job.tenant());
        for (JobEvent event : new JobEvent[] {queued, record.started(), record.terminal()}) {
            if (event != null) {
                state.apply(new JobState.StoredEvent(id++, event, Json.write(event)), -1);
            }
        }
        return state;
    }
}
