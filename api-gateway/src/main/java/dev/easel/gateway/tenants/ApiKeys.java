package dev.easel.gateway.tenants;

import dev.easel.contracts.ApiKey;
import dev.easel.contracts.Json;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jboss.logging.Logger;

/**
 * The API keys as {@code easel.api-keys} holds them (compacted; a tombstone revokes a key), folded by every replica, so a
 * key created anywhere works on all of them and a revoked one stops within the time the replicas take to read it.
 * Presented keys are looked up by their SHA-256.
 */
@ApplicationScoped
public class ApiKeys {
    private static final Logger LOG = Logger.getLogger(ApiKeys.class);

    private final Map<String, ApiKey> byId = new ConcurrentHashMap<>();
    private final Map<String, ApiKey> byHash = new ConcurrentHashMap<>();

    /** Folds one record of {@code easel.api-keys}. */
    public void onRecord(ConsumerRecord<String, String> record) {
        if (record.key() == null) {
            return;
        }
        ApiKey previous = byId.remove(record.key());
        if (previous != null) {
            byHash.remove(previous.keyHash());
        }
        if (record.value() == null) {
            return;
        }
        try {
            ApiKey key = Json.read(record.value(), ApiKey.class);
            if (key.keyHash() == null || !ApiKey.isValidTenant(key.tenant()) || !record.key().equals(key.id())) {
                throw new IllegalArgumentException("a key needs its id as record key, a valid tenant and keyHash");
            }
            byId.put(key.id(), key);
            byHash.put(key.keyHash(), key);
        } catch (IllegalArgumentException e) {
            LOG.warnf("ignoring an unreadable API key record %s: %s", record.key(), e.getMessage());
        }
    }

    /** The live key a request presented, if any. */
    public Optional<ApiKey> find(String presentedKey) {
        return Optional.ofNullable(byHash.get(ApiKey.hash(presentedKey)));
    }

    /** The live key with this id (webhook deliveries sign with its secret). */
    public Optional<ApiKey> byId(String id) {
        return Optional.ofNullable(byId.get(id));
    }
}
