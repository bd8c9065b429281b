package dev.easel.gateway.events;

import jakarta.inject.Inject;
import dev.easel.gateway.kafka.KafkaClients;
import dev.easel.gateway.jobs.JobState;

import dev.easel.contracts.JobEvent;
import dev.easel.contracts.Json;
import dev.easel.contracts.Topics;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * A job's stream for a client that resumes it: from memory where memory holds the events, and from the job's partition
 * of the events topic, starting at the job's first event, where it does not (a job this gateway restored from its
 * snapshot, which keeps no progress).
 */
@ApplicationScoped
public class EventHistory {
    private static final Logger LOG = Logger.getLogger(EventHistory.class);
    private static final Duration READ_LIMIT = Duration.ofSeconds(10);

    @Inject
    KafkaClients kafka;

    /** Sends {@code subscriber} the job's events after {@code afterId}, then its live ones. */
    public void subscribe(JobState state, long afterId, JobState.Subscriber subscriber) {
        JobState.EventRange missing = state.missingAfter(afterId);
        if (missing == null) {
            state.subscribe(afterId, subscriber);
            return;
        }
        Infrastructure.getDefaultWorkerPool().execute(() -> {
            List<JobState.StoredEvent> read;
            try {
                read = read(state.id(), missing);
            } catch (RuntimeException e) {
                // The snapshot's lifecycle events still tell the client where the job stands.
                LOG.warnf("cannot read the events of job %s from %s: %s", state.id(), Topics.EVENTS, e.toString());
                state.subscribe(afterId, subscriber);
                return;
            }
            read.stream().filter(state::kept).forEach(subscriber::event);
            state.subscribe(Math.max(afterId, missing.toId() - 1), subscriber);
        });
    }

    private List<JobState.StoredEvent> read(String jobId, JobState.EventRange range) {
        Properties props = kafka.properties("easel-gateway-history");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        TopicPartition partition = new TopicPartition(Topics.EVENTS, range.partition());
        List<JobState.StoredEvent> events = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            consumer.assign(List.of(partition));
            consumer.seek(partition, range.fromId());
            long deadline = System.nanoTime() + READ_LIMIT.toNanos();
            while (consumer.position(partition) < range.toId()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the events topic did not answer within " + READ_LIMIT);
                }
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    if (record.offset() < range.toId() && jobId.equals(record.key())) {
                        events.add(new JobState.StoredEvent(record.offset(),
                                Json.read(record.value(), JobEvent.class), record.value()));
                    }
                }
            }
        }
        return events;
    }
}
