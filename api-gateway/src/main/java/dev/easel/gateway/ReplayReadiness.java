package dev.easel.gateway;

import dev.easel.contracts.Topics;
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
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Readiness: the gateway answers for jobs only after it has read the events topic up to where it ended at start-up,
 * so a restarted replica never reports a known job as missing.
 */
@Readiness
@ApplicationScoped
public class ReplayReadiness implements HealthCheck {
    @Inject
    JobStore store;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @ConfigProperty(name = "easel.state.wait-for-replay", defaultValue = "true")
    boolean waitForReplay;

    private volatile Map<Integer, Long> endOffsets;

    void onStart(@Observes StartupEvent event) {
        if (!waitForReplay) {
            endOffsets = Map.of();
            return;
        }
        Thread.ofVirtual().name("easel-replay-target").start(this::readEndOffsets);
    }

    private void readEndOffsets() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            List<PartitionInfo> partitions = consumer.partitionsFor(Topics.EVENTS, Duration.ofSeconds(30));
            Map<Integer, Long> ends = new HashMap<>();
            if (partitions != null) {
                List<TopicPartition> topicPartitions = partitions.stream()
                        .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
                consumer.endOffsets(topicPartitions, Duration.ofSeconds(30))
                        .forEach((partition, offset) -> ends.put(partition.partition(), offset));
            }
            endOffsets = ends;
        }
    }

    public boolean replayed() {
        Map<Integer, Long> ends = endOffsets;
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
