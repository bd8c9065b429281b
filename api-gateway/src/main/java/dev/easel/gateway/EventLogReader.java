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
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;
import org.jboss.logging.Logger;

/**
 * Reads every partition of {@code easel.events} from the beginning into the {@link JobStore}, and the workers'
 * announcements ({@code easel.workers}, compacted) into the {@link WorkerRegistry}, then follows both. A plain consumer
 * on its own thread with assigned partitions: no consumer group to clean up, and events reach SSE clients within
 * milliseconds. Readiness turns true once both topics are read up to where they ended at start-up, so a restarted
 * replica never reports a known job as missing nor refuses a job for want of workers it has not read yet.
 */
@Readiness
@ApplicationScoped
public class EventLogReader implements HealthCheck {
    private static final Logger LOG = Logger.getLogger(EventLogReader.class);

    @Inject
    JobStore store;

    @Inject
    WorkerRegistry workers;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @ConfigProperty(name = "easel.kafka.read", defaultValue = "true")
    boolean enabled;

    private volatile KafkaConsumer<String, String> consumer;
    private volatile Map<TopicPartition, Long> endOffsetsAtStart;
    private final Map<TopicPartition, Long> positions = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean running = true;
    private Thread thread;

    void onStart(@Observes StartupEvent event) {
        if (!enabled) {
            endOffsetsAtStart = Map.of();
            return;
        }
        thread = new Thread(this::run, "easel-topics-reader");
        thread.setDaemon(true);
        thread.start();
    }

    void onStop(@Observes ShutdownEvent event) throws InterruptedException {
        running = false;
        KafkaConsumer<String, String> current = consumer;
        if (current != null) {
            current.wakeup();
        }
        if (thread != null) {
            thread.join(5000);
        }
    }

    private void run() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "easel-gateway-events");
        try (KafkaConsumer<String, String> kafka =
                new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            consumer = kafka;
            createWorkersTopic();
            List<TopicPartition> partitions = new java.util.ArrayList<>(awaitPartitions(kafka, Topics.EVENTS));
            partitions.addAll(awaitPartitions(kafka, Topics.WORKERS));
            kafka.assign(partitions);
            kafka.seekToBeginning(partitions);
            endOffsetsAtStart = new HashMap<>(kafka.endOffsets(partitions));
            while (running) {
                for (ConsumerRecord<String, String> record : kafka.poll(Duration.ofMillis(200))) {
                    if (record.topic().equals(Topics.WORKERS)) {
                        workers.onAnnouncement(record);
                    } else {
                        store.onEvent(record);
                    }
                }
                // The position, not the last record's offset: compaction leaves gaps the records do not show.
                for (TopicPartition partition : partitions) {
                    positions.put(partition, kafka.position(partition));
                }
            }
        } catch (WakeupException e) {
            // shutting down
        } catch (RuntimeException e) {
            LOG.error("reading the events topic failed; job state is no longer updated", e);
        }
    }

    /** Workers create it too; whoever comes first makes it compacted rather than leaving it to auto-creation. */
    private void createWorkersTopic() {
        Properties props = new Properties();
        props.put(org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(props)) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(Topics.WORKERS,
                    java.util.Optional.of(1), java.util.Optional.empty()).configs(Map.of("cleanup.policy", "compact"))))
                    .all().get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) {
                LOG.warnf("could not create %s: %s", Topics.WORKERS, e.getCause());
            }
        } catch (Exception e) {
            LOG.warnf("could not create %s: %s", Topics.WORKERS, e);
        }
    }

    /** A topic's partitions; creates it through auto-creation when it does not exist yet. */
    private List<TopicPartition> awaitPartitions(KafkaConsumer<String, String> kafka, String topic) {
        while (running) {
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
                .allMatch(end -> end.getValue() == 0 || positions.getOrDefault(end.getKey(), 0L) >= end.getValue());
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("events-replayed").status(replayed()).build();
    }
}
