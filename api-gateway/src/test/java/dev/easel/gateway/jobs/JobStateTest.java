package dev.easel.gateway.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.easel.contracts.JobEvent;
import dev.easel.contracts.Json;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class JobStateTest {
    private static final String JOB = "j1";

    /** The job's events as they sit in its partition: offsets from 10 on. */
    private static List<JobState.StoredEvent> partition(JobEvent... events) {
        List<JobState.StoredEvent> stored = new ArrayList<>();
        for (int i = 0; i < events.length; i++) {
            stored.add(new JobState.StoredEvent(10 + i, events[i], Json.write(events[i])));
        }
        return stored;
    }

    private static JobEvent.Progress progress(int step) {
        return new JobEvent.Progress(JOB, 10L + step, 0, step, 2, 900.0 - step, null, step, 0, null);
    }

    private static List<String> types(List<JobState.StoredEvent> events) {
        return events.stream().map(e -> e.event().type()).toList();
    }

    /** What a subscriber gets from memory after event {@code afterId}. */
    private static List<JobState.StoredEvent> stream(JobState state, long afterId) {
        List<JobState.StoredEvent> received = new ArrayList<>();
        state.subscribe(afterId, new JobState.Subscriber() {
            @Override
            public void event(JobState.StoredEvent event) {
                received.add(event);
            }

            @Override
            public void completed() {
            }
        });
        return received;
    }

    @Test
    void aRedeliveryNoWorkerBeganIsNotARequeueLiveOrReplayedFromThePartition() {
        List<JobState.StoredEvent> events = partition(
                new JobEvent.Queued(JOB, 1L, 5L, 2, "toy", "t1"),
                // Attempt 1 never reached a device (its lock ran out in a busy worker's buffer).
                new JobEvent.Requeued(JOB, 2L, 2, "attempt 1 ended without a result"),
                new JobEvent.Started(JOB, 3L, "w1", "CPUExecutionProvider", 2, 2, null),
                progress(1),
                // The worker is killed: attempt 2 began, so attempt 3 is a requeue clients see.
                new JobEvent.Requeued(JOB, 5L, 3, "attempt 2 ended without a result"),
                new JobEvent.Started(JOB, 6L, "w2", "CPUExecutionProvider", 2, 3, null),
                progress(1),
                progress(2),
                new JobEvent.Completed(JOB, 9L, List.of(), null),
                progress(2));
        JobState live = new JobState(JOB);
        for (JobState.StoredEvent event : events.subList(0, 6)) {
            live.apply(event, 0);
        }
        assertEquals(List.of("queued", "started", "progress", "requeued", "started"), types(stream(live, -1)));

        // A gateway restarted here restores the lifecycle from the snapshot; a stream from the start reads what memory
        // lacks (offsets 10 to 15) from the partition, as EventHistory does, then follows memory.
        JobState restored = JobState.restored(live.snapshot(), 16);
        JobState.EventRange missing = restored.missingAfter(-1);
        assertEquals(new JobState.EventRange(0, 10, 16), missing);
        for (JobState.StoredEvent event : events.subList(6, events.size())) {
            live.apply(event, 0);
            restored.apply(event, 0);
        }
        List<JobState.StoredEvent> replayed = new ArrayList<>(events.subList(0, 6).stream().filter(restored::kept)
                .toList());
        replayed.addAll(stream(restored, missing.toId() - 1));
        assertEquals(types(stream(live, -1)), types(replayed), "the replay is the live stream");
        assertEquals(List.of("queued", "started", "progress", "requeued", "started", "progress", "progress",
                "completed"), types(replayed));
    }
}
