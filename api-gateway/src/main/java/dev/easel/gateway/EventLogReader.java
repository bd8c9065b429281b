package dev.easel.gateway;

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

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @ConfigProperty(name = "easel.kafka.read", defaultValue = "true")
    boolean enabled;

    @ConfigProperty(name = "easel.events.retention-hours", defaultValue = "24")
    long eventsRetentionHours;

    @ConfigProperty(name = "easel.idempotency.retention-hours", defaultValue = "24")
    long idempotencyRetentionHours;

    private volatile Map<TopicPartition, Long> endOffsetsAtStart;
    private final Map<TopicPartition, Long> positions = new java.util.concurrent.ConcurrentHashMap<>();
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
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "easel-gateway-events");
        // A checkpoint older than the events' retention points at deleted offsets: read what is left.
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return props;
    }

    private void run(KafkaConsumer<String, String> kafka, BooleanSupplier running) {
        createTopics();
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
                positions.put(partition, kafka.position(partition));
            }
            if (!ready && replayed()) {
                ready = true;
                LOG.infof("ready: %d jobs in memory", store.size());
            }
            if (System.currentTimeMillis() - lastCheckpoint >= CHECKPOINT_EVERY_MILLIS) {
                Map<Integer, Long> eventPositions = new HashMap<>();
                events.forEach(partition -> eventPositions.put(partition.partition(), positions.get(partition)));
                stateLog.checkpoint(eventPositions, store::snapshots);
                idempotency.evictExpired();
                lastCheckpoint = System.currentTimeMillis();
            }
        }
    }

    /**
     * Whoever comes first creates the topics with their policies rather than leaving them to auto-creation: the events
     * with a time retention, the job state, the workers' announcements and the API keys compacted (workers and
 * {@code easel keys} create theirs too).
     */
    private void createTopics() {
        Map<String, String> jobState = Map.of("cleanup.policy", "compact", "segment.bytes", Integer.toString(16 << 20),
                "segment.ms", "600000", "min.cleanable.dirty.ratio", "0.1", "delete.retention.ms", "600000");
        List<org.apache.kafka.clients.admin.NewTopic> topics = List.of(
                newTopic(Topics.EVENTS, java.util.Optional.empty(),
                        Map.of("retention.ms", Long.toString(eventsRetentionHours * 3_600_000L))),
                newTopic(Topics.JOB_STATE, java.util.Optional.of(1), jobState),
                newTopic(Topics.WORKERS, java.util.Optional.of(1), Map.of("cleanup.policy", "compact")),
                newTopic(Topics.API_KEYS, java.util.Optional.of(1), Map.of("cleanup.policy", "compact")),
                // Compacted and deleted by age: one record per key, gone a little after the retention.
                newTopic(Topics.IDEMPOTENCY, java.util.Optional.of(1), Map.of("cleanup.policy", "compact,delete",
                        "retention.ms", Long.toString(idempotencyRetentionHours * 3_600_000L + 3_600_000L),
                        "segment.ms", "3600000")));
        Properties props = new Properties();
        props.put(org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(props)) {
            for (org.apache.kafka.clients.admin.NewTopic topic : topics) {
                try {
                    admin.createTopics(List.of(topic)).all().get(30, java.util.concurrent.TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) {
                        LOG.warnf("could not create %s: %s", topic.name(), e.getCause());
                    }
                }
            }
        } catch (Exception e) {
            LOG.warnf("could not create the gateway's topics: %s", e);
        }
    }

    private static org.apache.kafka.clients.admin.NewTopic newTopic(String name, java.util.Optional<Integer> partitions,
            Map<String, String> configs) {
        return new org.apache.kafka.clients.admin.NewTopic(name, partitions, java.util.Optional.empty())
                .configs(configs);
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

    /** How far this replica has read {@code partition} (0 before it started). */
    long position(TopicPartition partition) {
        return positions.getOrDefault(partition, 0L);
    }

    public boolean replayed() {
        Map<TopicPartition, Long> ends = endOffsetsAtStart;
        if (ends == null) {
            return false;
        }
        return ends.entrySet().stream()
                .allMatch(end -> end.getValue() == 0 || positions.getOrDefault(end.getKey(), 0L) >= end.getValue());
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("events-replayed").status(replayed()).build();
    }
}
