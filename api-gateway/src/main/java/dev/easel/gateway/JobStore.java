package dev.easel.gateway;

import dev.easel.contracts.JobEvent;
import dev.easel.contracts.Json;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jboss.logging.Logger;

/**
 * All jobs' state, rebuilt by reading {@code easel.events} from the beginning: a restarted gateway, or a second one,
 * arrives at the same state as any other without a database.
 */
@ApplicationScoped
public class JobStore {
    private static final Logger LOG = Logger.getLogger(JobStore.class);

    private final Map<String, JobState> jobs = new ConcurrentHashMap<>();

    /** Folds one record of the events topic into its job's state. */
    public void onEvent(ConsumerRecord<String, String> record) {
        JobEvent event;
        try {
            event = Json.read(record.value(), JobEvent.class);
        } catch (IllegalArgumentException e) {
            LOG.warnf("ignoring unreadable event at %d/%d: %s", record.partition(), record.offset(), e.getMessage());
            return;
        }
        state(event.jobId()).apply(new JobState.StoredEvent(record.offset(), event, record.value()));
    }

    void submitted(JobEvent.Queued queued, long queueOffset) {
        state(queued.jobId()).submitted(queued, queueOffset);
    }

    private JobState state(String jobId) {
        return jobs.computeIfAbsent(jobId, JobState::new);
    }

    public JobState require(String jobId) {
        JobState state = jobs.get(jobId);
        if (state == null) {
            throw new JobNotFoundException(jobId);
        }
        return state;
    }
}
