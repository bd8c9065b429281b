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
 * Reads every partition of {@code easel.events} from the beginning into the {@link JobStore}, then follows it.
 * A plain consumer on its own thread with assigned partitions: no consumer group to clean up, and events reach SSE
 * clients within milliseconds. Readiness turns true once the topic is read up to where it ended at start-up, so a
 * restarted replica never reports a known job as missing.
 */
@Readiness
@ApplicationScoped
public class EventLogReader implements HealthCheck {
    private static final Logger LOG = Logger.getLogger(EventLogReader.class);

    @Inject
    JobStore store;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @ConfigProperty(name = "easel.events.read", defaultValue = "true")
    boolean enabled;

    private volatile KafkaConsumer<String, String> consumer;
    private volatile Map<Integer, Long> endOffsetsAtStart;
    private volatile boolean running = true;
    private Thread thread;

    void onStart(@Observes StartupEvent event) {
        if (!enabled) {
            endOffsetsAtStart = Map.of();
            return;
        }
        thread = new Thread(this::run, "easel-events-reader");
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
            List<TopicPartition> partitions = awaitPartitions(kafka);
            kafka.assign(partitions);
            kafka.seekToBeginning(partitions);
            Map<Integer, Long> ends = new HashMap<>();
            kafka.endOffsets(partitions).forEach((partition, offset) -> ends.put(partition.partition(), offset));
            endOffsetsAtStart = ends;
            while (running) {
                for (ConsumerRecord<String, String> record : kafka.poll(Duration.ofMillis(200))) {
                    store.onEvent(record);
                }
            }
        } catch (WakeupException e) {
            // shutting down
        } catch (RuntimeException e) {
            LOG.error("reading the events topic failed; job state is no longer updated", e);
        }
    }

    /** The topic's partitions; creates the topic through auto-creation when it does not exist yet. */
    private List<TopicPartition> awaitPartitions(KafkaConsumer<String, String> kafka) {
        while (running) {
            List<PartitionInfo> infos = kafka.partitionsFor(Topics.EVENTS, Duration.ofSeconds(10));
            if (infos != null && !infos.isEmpty()) {
                return infos.stream().map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            }
            LOG.info("waiting for the events topic");
        }
        throw new WakeupException();
    }

    public boolean replayed() {
        Map<Integer, Long> ends = endOffsetsAtStart;
        if (ends == null) {
            return false;
        }
        Map<Integer, Long> positions = store.positions();
        return ends.entrySet().stream()
                .allMatch(end -> end.getValue() == 0 || positions.getOrDefault(end.getKey(), 0L) >= end.getValue());
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("events-replayed").status(replayed()).build();
    }
}
