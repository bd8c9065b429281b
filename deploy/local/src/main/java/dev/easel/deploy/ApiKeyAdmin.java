package dev.easel.deploy;

import dev.easel.contracts.ApiKey;
import dev.easel.contracts.Json;
import dev.easel.contracts.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Creates, lists and revokes API keys on {@code easel.api-keys} (compacted, key: key id), which every gateway replica
 * reads: {@code easel keys}, the local stack's own key and the tests all go through here.
 */
public final class ApiKeyAdmin {
    /** A created key as {@code easel keys create} prints it: the only time {@code key} is ever shown. */
    public record Created(String id, String tenant, String key, String webhookSecret) {
    }

    private static final Duration TIMEOUT = Duration.ofSeconds(15);

    private final String bootstrapServers;

    public ApiKeyAdmin(String bootstrapServers) {
        this.bootstrapServers = bootstrapServers;
    }

    public Created create(String tenant, Integer ratePerMinute, Integer maxActive) throws Exception {
        ApiKey.Issued issued = ApiKey.issue(tenant, ratePerMinute, maxActive, System.currentTimeMillis());
        publish(issued.record().id(), Json.write(issued.record()));
        return new Created(issued.record().id(), tenant, issued.key(), issued.record().webhookSecret());
    }

    /** The live keys, oldest first, without their secrets. */
    public List<ApiKey> list() throws Exception {
        ensureTopic();
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        Map<String, ApiKey> keys = new LinkedHashMap<>();
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            TopicPartition partition = new TopicPartition(Topics.API_KEYS, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition), TIMEOUT).get(partition);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (consumer.position(partition, TIMEOUT) < end) {
                if (System.nanoTime() > deadline) {
                    throw new TimeoutException("reading " + Topics.API_KEYS + " took longer than " + TIMEOUT);
                }
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    if (record.value() == null) {
                        keys.remove(record.key());
                    } else {
                        keys.put(record.key(), Json.read(record.value(), ApiKey.class).withoutSecrets());
                    }
                }
            }
        }
        List<ApiKey> live = new ArrayList<>(keys.values());
        live.sort(Comparator.comparingLong(ApiKey::createdAtMillis));
        return live;
    }

    /** Waits until the gateway at {@code gatewayUrl} has read the key (replicas read new keys within moments). */
    public static void awaitAccepted(String gatewayUrl, String key, Duration timeout) throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2))
                .build();
        long deadline = System.nanoTime() + timeout.toNanos();
        int status = 0;
        while (System.nanoTime() < deadline) {
            try {
                status = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(gatewayUrl + "/v1/models"))
                        .header("Authorization", "Bearer " + key).timeout(Duration.ofSeconds(2)).GET().build(),
                        java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
                if (status == 200) {
                    return;
                }
            } catch (java.io.IOException e) {
                status = -1;
            }
            Thread.sleep(100);
        }
        throw new TimeoutException("the gateway at " + gatewayUrl + " did not accept the new key within " + timeout
                + " (last answer: " + (status < 0 ? "no connection" : "HTTP " + status) + ")");
    }

    public Optional<ApiKey> find(String id) throws Exception {
        return list().stream().filter(key -> key.id().equals(id)).findFirst();
    }

    /** Revokes the key (a tombstone); false when no live key has that id. */
    public boolean revoke(String id) throws Exception {
        if (find(id).isEmpty()) {
            return false;
        }
        publish(id, null);
        return true;
    }

    private void publish(String id, String value) throws Exception {
        ensureTopic();
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Long.toString(TIMEOUT.toMillis()));
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT.toMillis()));
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        try (KafkaProducer<String, String> producer =
                new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
            producer.send(new ProducerRecord<>(Topics.API_KEYS, 0, id, value)).get(TIMEOUT.toMillis(),
                    TimeUnit.MILLISECONDS);
        }
    }

    /** The keys' topic, compacted with one partition, as the gateway would create it. */
    private void ensureTopic() throws Exception {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT.toMillis()));
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        try (Admin admin = Admin.create(props)) {
            Topics.Policy policy = Topics.apiKeysPolicy();
            admin.createTopics(List.of(new NewTopic(policy.name(), policy.partitions(), Optional.empty())
                    .configs(policy.configs()))).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("cannot create " + Topics.API_KEYS + " on " + bootstrapServers + ": "
                        + e.getCause().getMessage(), e.getCause());
            }
        }
    }
}
