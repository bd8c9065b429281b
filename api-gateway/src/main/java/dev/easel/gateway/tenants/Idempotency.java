package dev.easel.gateway.tenants;

import dev.easel.gateway.events.TopicPositions;
import dev.easel.gateway.kafka.KafkaClients;

import dev.easel.contracts.ApiKey;
import dev.easel.contracts.IdempotentSubmit;
import dev.easel.contracts.Json;
import dev.easel.contracts.Topics;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.eclipse.microprofile.health.Readiness;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * {@code Idempotency-Key} on submits: the submits that carried one, as {@code easel.idempotency} holds them (every
 * replica folds the topic, so a retry on another replica finds the first job), kept for
 * {@code easel.idempotency.retention-hours}. A key in flight on this replica is claimed, so a concurrent retry gets 409
 * instead of a second job.
 */
@ApplicationScoped
public class Idempotency {
    private static final Logger LOG = Logger.getLogger(Idempotency.class);
    private static final Pattern KEY = Pattern.compile("[\\x21-\\x7e]{1,255}");
    private static final Duration CATCH_UP = Duration.ofSeconds(2);

    @ConfigProperty(name = "easel.idempotency.retention-hours", defaultValue = "24")
    public long retentionHours;

    @ConfigProperty(name = "easel.kafka.read", defaultValue = "true")
    boolean reading;

    @Inject
    KafkaClients kafka;

    @Inject
    TopicPositions positions;

    private final Map<String, IdempotentSubmit> submits = new ConcurrentHashMap<>();
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();

    public static boolean isValidKey(String idempotencyKey) {
        return KEY.matcher(idempotencyKey).matches();
    }

    /** The request's fingerprint: the SHA-256 of its JSON as read, so the same fields give the same hash. */
    public static String hash(Object request) {
        return ApiKey.hash(Json.write(request));
    }

    long retentionMillis() {
        return retentionHours * 3_600_000L;
    }

    /**
     * The earlier submit with this key, if it is not older than the retention. A key this replica has not seen may have
     * just been recorded by another one: it is looked up again once this replica has read the topic as far as it
     * reaches now (at most {@code CATCH_UP}), so a retry sent after any answer finds the first job.
     */
    public Optional<IdempotentSubmit> find(String tenant, String idempotencyKey) {
        Optional<IdempotentSubmit> known = lookUp(tenant, idempotencyKey);
        if (known.isPresent() || !reading) {
            return known;
        }
        awaitCaughtUp();
        return lookUp(tenant, idempotencyKey);
    }

    private void awaitCaughtUp() {
        TopicPartition partition = new TopicPartition(Topics.IDEMPOTENCY, 0);
        long deadline = System.nanoTime() + CATCH_UP.toNanos();
        try {
            long end = kafka.admin().listOffsets(Map.of(partition, OffsetSpec.latest())).partitionResult(partition)
                    .get(CATCH_UP.toMillis(), TimeUnit.MILLISECONDS).offset();
            while (positions.of(partition) < end && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.warnf("cannot tell how far %s reaches (%s); answering from what this replica has read",
                    Topics.IDEMPOTENCY, e.toString());
        }
    }

    private Optional<IdempotentSubmit> lookUp(String tenant, String idempotencyKey) {
        IdempotentSubmit submit = submits.get(IdempotentSubmit.recordKey(tenant, idempotencyKey));
        return submit == null || submit.atMillis() < System.currentTimeMillis() - retentionMillis() ? Optional.empty()
                : Optional.of(submit);
    }

    /** False when a submit with this key is under way on this replica. */
    public boolean claim(String tenant, String idempotencyKey) {
        return inFlight.add(IdempotentSubmit.recordKey(tenant, idempotencyKey));
    }

    public void release(String tenant, String idempotencyKey) {
        inFlight.remove(IdempotentSubmit.recordKey(tenant, idempotencyKey));
    }

    /** Notes a submit this replica made, before its record comes back from the topic. */
    public void remember(IdempotentSubmit submit) {
        submits.put(IdempotentSubmit.recordKey(submit.tenant(), submit.idempotencyKey()), submit);
    }

    /** Folds one record of {@code easel.idempotency}, dropping entries past the retention on the way. */
    public void onRecord(ConsumerRecord<String, String> record) {
        if (record.key() == null) {
            return;
        }
        if (record.value() == null) {
            submits.remove(record.key());
            return;
        }
        try {
            IdempotentSubmit submit = Json.read(record.value(), IdempotentSubmit.class);
            submits.put(record.key(), submit);
        } catch (IllegalArgumentException e) {
            LOG.warnf("ignoring an unreadable idempotency record %s: %s", record.key(), e.getMessage());
        }
    }

    /** Forgets entries past the retention (the topic deletes them on its own schedule). */
    public void evictExpired() {
        long oldest = System.currentTimeMillis() - retentionMillis();
        submits.values().removeIf(submit -> submit.atMillis() < oldest);
    }
}
