package dev.easel.gateway.jobs;

import dev.easel.contracts.JobEvent;
import java.util.ArrayList;
import java.util.List;

/**
 * What the gateway knows of one job, folded from its events in topic order. After a terminal event nothing changes:
 * a worker's late progress or a second cancellation is ignored. Subscribers get the history after a given event id,
 * then live events, without gaps or repeats.
 */
public final class JobState {
    /** An event as it sits in the events topic: its offset there is its SSE id. */
    public record StoredEvent(long id, JobEvent event, String json) {
    }

    /** Receives events; {@code completed} runs after the terminal one. */
    public interface Subscriber {
        void event(StoredEvent event);

        void completed();
    }

    private final String id;
    private final List<StoredEvent> history = new ArrayList<>();
    private final List<Subscriber> subscribers = new ArrayList<>();
    private JobEvent.Queued queued;
    private long queueOffset = -1;
    private JobEvent.Requeued requeued;
    private JobEvent.Started started;
    private JobEvent.Loading loading;
    private JobEvent.Progress progress;
    private JobEvent terminal;
    private long updatedAtMillis;
    private long lastEventId = -1;
    /** Where the job's events are in the events topic (-1 until its first event from there is known). */
    private int partition = -1;
    private long firstEventId = -1;
    /**
     * Events from this offset on are all in {@link #history}; before it, only the lifecycle events of a restored
     * snapshot are (-1: every event is).
     */
    private long historyFrom = -1;

    JobState(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    /**
     * Takes the gateway's own queued event before it comes back from Kafka, so the job is visible at once, and where the
     * job sits in its model's queue ({@code queueOffset}; only the accepting gateway knows it).
     */
    synchronized void submitted(JobEvent.Queued event, long offset) {
        queueOffset = offset;
        if (queued == null) {
            queued = event;
            updatedAtMillis = event.atMillis();
        }
    }

    /** The attempt the job is on: 1 until a retry. */
    private int attempt() {
        int fromStart = started == null ? 1 : started.attempt();
        return requeued == null ? fromStart : Math.max(fromStart, requeued.attempt());
    }

    /**
     * Events of attempts that are over say nothing new: a second {@code requeued} for the same attempt (the worker that
     * released a job and the one that took it both report it) or a {@code started} of an earlier attempt. Neither does
     * a {@code requeued} while no worker began the current attempt: the queue counts a delivery whenever a worker's
     * consumer acquires the record, also one that never reached a device (fetched into a busy worker's buffer, its
     * lock ran out), and the next worker reports that delivery as a requeue. Clients saw the job queued, and it is.
     */
    private boolean isStale(JobEvent event) {
        return switch (event) {
            case JobEvent.Requeued r -> r.attempt() <= attempt() || !begun();
            case JobEvent.Started s -> s.attempt() < attempt();
            case JobEvent.Loading l -> l.attempt() < attempt();
            default -> false;
        };
    }

    /** Whether a worker began the current attempt: it loaded the job's model or started the job. */
    private boolean begun() {
        int current = attempt();
        return (started != null && started.attempt() >= current) || (loading != null && loading.attempt() >= current);
    }

    /** A job as a snapshot left it; events from {@code replayFrom} on are replayed into it from the events topic. */
    static JobState restored(JobSnapshot snapshot, long replayFrom) {
        JobState state = new JobState(snapshot.jobId());
        for (JobSnapshot.Entry entry : snapshot.lifecycle()) {
            state.apply(new StoredEvent(entry.id(), entry.event(), dev.easel.contracts.Json.write(entry.event())),
                    snapshot.partition());
        }
        state.firstEventId = snapshot.firstEventId();
        state.lastEventId = Math.max(state.lastEventId, snapshot.lastEventId());
        state.historyFrom = Math.max(replayFrom, snapshot.lastEventId() + 1);
        return state;
    }

    /**
     * Folds one event, read from {@code partition} of the events topic (-1: not from there); false when it says
     * nothing new.
     */
    synchronized boolean apply(StoredEvent stored, int partition) {
        // One job's events share a partition, so their offsets only grow; an older one is a repeat.
        if (terminal != null || stored.id() <= lastEventId || isStale(stored.event())) {
            return false;
        }
        if (this.partition < 0 && partition >= 0) {
            this.partition = partition;
            firstEventId = stored.id();
        }
        lastEventId = stored.id();
        history.add(stored);
        JobEvent event = stored.event();
        updatedAtMillis = event.atMillis();
        switch (event) {
            case JobEvent.Queued q -> queued = q;
            case JobEvent.Requeued r -> requeued = r;
            case JobEvent.Started s -> started = s;
            case JobEvent.Loading l -> loading = l;
            case JobEvent.Progress p -> progress = p;
            default -> terminal = event;
        }
        for (Subscriber subscriber : List.copyOf(subscribers)) {
            subscriber.event(stored);
            if (terminal != null) {
                subscriber.completed();
            }
        }
        if (terminal != null) {
            subscribers.clear();
        }
        return true;
    }

    /** The job's lifecycle for {@code easel.job-state}; null while none of its events came from the events topic. */
    synchronized JobSnapshot snapshot() {
        if (partition < 0) {
            return null;
        }
        List<JobSnapshot.Entry> lifecycle = history.stream().filter(e -> !(e.event() instanceof JobEvent.Progress))
                .map(e -> new JobSnapshot.Entry(e.id(), e.event())).toList();
        return new JobSnapshot(id, partition, firstEventId, lastEventId, lifecycle);
    }

    /**
     * The range of the job's events that memory lacks but a stream resuming after {@code afterId} must send: offsets
     * {@code [from, to)} of its partition. Null when memory holds them all.
     */
    public synchronized EventRange missingAfter(long afterId) {
        long from = Math.max(afterId + 1, firstEventId);
        return historyFrom < 0 || from >= historyFrom ? null : new EventRange(partition, from, historyFrom);
    }

    /**
     * Whether an event read back from the job's partition is one the fold kept: progress before the terminal event, or
     * a lifecycle event this state holds (a restored snapshot's lifecycle is what the fold kept; the topic also has
     * the events it found stale).
     */
    public synchronized boolean kept(StoredEvent stored) {
        if (stored.event() instanceof JobEvent.Progress) {
            return terminal == null || stored.id() < history.getLast().id();
        }
        return history.stream().anyMatch(e -> e.id() == stored.id());
    }

    /** Offsets {@code [fromId, toId)} of one partition of the events topic. */
    public record EventRange(int partition, long fromId, long toId) {
    }

    /** Replays the events after {@code afterId} (-1: all), then follows live ones until the terminal event. */
    public synchronized void subscribe(long afterId, Subscriber subscriber) {
        for (StoredEvent stored : history) {
            if (stored.id() > afterId) {
                subscriber.event(stored);
            }
        }
        if (terminal != null) {
            subscriber.completed();
        } else {
            subscribers.add(subscriber);
        }
    }

    public synchronized void unsubscribe(Subscriber subscriber) {
        subscribers.remove(subscriber);
    }

    public synchronized String status() {
        if (terminal != null) {
            return terminal.type();
        }
        boolean waitingForRetry = requeued != null && (started == null || started.attempt() < requeued.attempt());
        if (started != null && !waitingForRetry) {
            return "running";
        }
        // A worker took the job and loads its model; a requeue after that puts it back in the queue.
        boolean loadingNow = loading != null && loading.attempt() >= attempt()
                && (started == null || started.attempt() < loading.attempt());
        return loadingNow ? "loading" : "queued";
    }

    public synchronized int currentAttempt() {
        return attempt();
    }

    public synchronized JobEvent.Requeued requeued() {
        return requeued;
    }

    /** The model whose queue the job is on (null before its queued event is known). */
    public synchronized String model() {
        return queued == null ? null : queued.model();
    }

    /** The job's offset in its model's queue, or -1 where this gateway did not accept it. */
    public synchronized long queueOffset() {
        return queueOffset;
    }

    public synchronized boolean isTerminal() {
        return terminal != null;
    }

    public synchronized JobEvent.Queued queued() {
        return queued;
    }

    /** The tenant that owns the job; null before its queued event is known. */
    public synchronized String tenant() {
        return queued == null ? null : queued.tenant();
    }

    public synchronized JobEvent.Started started() {
        return started;
    }

    public synchronized JobEvent.Progress progress() {
        return progress;
    }

    public synchronized JobEvent terminal() {
        return terminal;
    }

    public synchronized long updatedAtMillis() {
        return updatedAtMillis;
    }
}
