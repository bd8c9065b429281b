package dev.easel.gateway.events;

import dev.easel.gateway.kafka.KafkaClients;
import dev.easel.gateway.jobs.JobStateLog;
import dev.easel.gateway.jobs.JobStore;
import dev.easel.gateway.pool.WorkerRegistry;
import dev.easel.gateway.tenants.ApiKeys;
import dev.easel.gateway.tenants.Idempotency;

import dev.easel.contracts.Topics;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;
import org.jboss.logging.Logger;

/**
 * Restores the jobs kept on {@code easel.job-state} ({@link JobStateLog}) into the {@link JobStore}, then reads
 * {@code easel.events} from where that state's checkpoint reaches (every partition from its beginning when there is
 * none), the workers' announcements ({@code easel.workers}, compacted) into the {@link WorkerRegistry} and the API
 * keys ({@code easel.api-keys}, compacted) into {@link ApiKeys}, both from their beginning, and follows all three. A plain consumer on its own thread with assigned partitions: no consumer
 * group to clean up, and events reach SSE clients within milliseconds. Readiness turns true once both topics are read up
 * to where they ended at start-up, so a restarted replica never reports a known job as missing, nor refuses a job for
 * want of workers or a key it has not read yet.
 */
@Readiness
@ApplicationScoped
public class EventLogReader implements HealthCheck {
    private static final Logger LOG = Logger.getLogger(EventLogReader.class);
    private static final long CHECKPOINT_EVERY_MILLIS = 1000;

    @Inject
    JobStore store;

    @Inject
    JobStateLog stateLog;

    @Inject
    WorkerRegistry workers;

    @Inject
    ApiKeys apiKeys;

    @Inject
    Idempotency idempotency;

    @Inject
    TopicPositions topicPositions;

    @Inject
    KafkaClients kafkaClients;

    @ConfigProperty(name = "easel.kafka.read", defaultValue = "true")
    boolean enabled;

    @ConfigProperty(name = "easel.events.retention-hours", defaultValue = "24")
    long eventsRetentionHours;

    @ConfigProperty(name = "easel.idempotency.retention-hours", defaultValue = "24")
    long idempotencyRetentionHours;

    private volatile Map<TopicPartition, Long> endOffsetsAtStart;
    private final ConsumerLoop loop = new ConsumerLoop();

    void onStart(@Observes StartupEvent event) {
        if (!enabled) {
            endOffsetsAtStart = Map.of();
            return;
        }
        loop.start("easel-topics-reader", consumerProperties(),
                "reading the events topic failed; job state is no longer updated", this::run);
    }

    void onStop(@Observes ShutdownEvent event) throws InterruptedException {
        loop.stop();
    }

    private Properties consumerProperties() {
        Properties props = kafkaClients.properties("easel-gateway-events");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // A checkpoint older than the events' retention points at deleted offsets: read what is left.
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return props;
    }

    private void run(KafkaConsumer<String, String> kafka, BooleanSupplier running) {
        // Whoever comes first creates the topics with their policies (workers and easel keys create theirs too).
        kafkaClients.createTopics(List.of(Topics.eventsPolicy(eventsRetentionHours), Topics.jobStatePolicy(),
                Topics.workersPolicy(), Topics.apiKeysPolicy(), Topics.idempotencyPolicy(idempotencyRetentionHours)));
        awaitPartitions(kafka, Topics.JOB_STATE, running);
        JobStateLog.Restored restored = stateLog.read(kafka);
        store.restore(restored.jobs(), restored.eventPositions());
        List<TopicPartition> events = awaitPartitions(kafka, Topics.EVENTS, running);
        List<TopicPartition> partitions = new java.util.ArrayList<>(events);
        partitions.addAll(awaitPartitions(kafka, Topics.WORKERS, running));
        partitions.addAll(awaitPartitions(kafka, Topics.API_KEYS, running));
        partitions.addAll(awaitPartitions(kafka, Topics.IDEMPOTENCY, running));
        kafka.assign(partitions);
        kafka.seekToBeginning(partitions);
        for (TopicPartition partition : events) {
            Long checkpoint = restored.eventPositions().get(partition.partition());
            if (checkpoint != null) {
                kafka.seek(partition, checkpoint);
            }
        }
        endOffsetsAtStart = new HashMap<>(kafka.endOffsets(partitions));
        LOG.infof("restored %d jobs from %s; reading %s from %s", restored.jobs().size(), Topics.JOB_STATE,
                Topics.EVENTS, restored.eventPositions().isEmpty() ? "its beginning" : restored.eventPositions());
        long lastCheckpoint = System.currentTimeMillis();
        boolean ready = false;
        while (running.getAsBoolean()) {
            for (ConsumerRecord<String, String> record : kafka.poll(Duration.ofMillis(200))) {
                if (record.topic().equals(Topics.WORKERS)) {
                    workers.onAnnouncement(record);
                } else if (record.topic().equals(Topics.API_KEYS)) {
                    apiKeys.onRecord(record);
                } else if (record.topic().equals(Topics.IDEMPOTENCY)) {
                    idempotency.onRecord(record);
                } else {
                    store.onEvent(record);
                }
            }
            // The position, not the last record's offset: compaction leaves gaps the records do not show.
            for (TopicPartition partition : partitions) {
                topicPositions.update(partition, kafka.position(partition));
            }
            if (!ready && replayed()) {
                ready = true;
                LOG.infof("ready: %d jobs in memory", store.size());
            }
            if (System.currentTimeMillis() - lastCheckpoint >= CHECKPOINT_EVERY_MILLIS) {
                Map<Integer, Long> eventPositions = new HashMap<>();
                events.forEach(partition -> eventPositions.put(partition.partition(), topicPositions.of(partition)));
                stateLog.checkpoint(eventPositions, store::snapshots);
                idempotency.evictExpired();
                lastCheckpoint = System.currentTimeMillis();
            }
        }
    }

    /** A topic's partitions; creates it through auto-creation when it does not exist yet. */
    private List<TopicPartition> awaitPartitions(KafkaConsumer<String, String> kafka, String topic,
            BooleanSupplier running) {
        while (running.getAsBoolean()) {
            List<PartitionInfo> infos = kafka.partitionsFor(topic, Duration.ofSeconds(10));
            if (infos != null && !infos.isEmpty()) {
                return infos.stream().map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            }
            LOG.infof("waiting for %s", topic);
        }
        throw new WakeupException();
    }

    public boolean replayed() {
        Map<TopicPartition, Long> ends = endOffsetsAtStart;
        if (ends == null) {
            return false;
        }
        return ends.entrySet().stream()
                .allMatch(end -> end.getValue() == 0 || topicPositions.of(end.getKey()) >= end.getValue());
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("events-replayed").status(replayed()).build();
    }
}
