package dev.easel.contracts;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * An API key as every gateway replica reads it from {@code easel.api-keys} (compacted, key: {@code id}; a tombstone
 * revokes it). The key itself is never stored, only its SHA-256: keys are 192 random bits, so a fast hash is enough and
 * a leaked topic gives no usable key. The webhook secret is kept as issued, since the gateway signs deliveries with it.
 *
 * @param ratePerMinute job submissions allowed per minute; null: the gateway's default
 * @param maxActive     queued plus running jobs allowed at once; null: the gateway's default
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ApiKey(int schemaVersion, String id, String tenant, String keyHash, String webhookSecret,
        Integer ratePerMinute, Integer maxActive, long createdAtMillis) {
    public static final int SCHEMA_VERSION = 1;
    /** Tenant names become part of object keys: lower-case letters, digits, '-' and '_'. */
    private static final Pattern TENANT = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
    private static final SecureRandom RANDOM = new SecureRandom();

    /** A new key: the record to publish and the key, shown once to whoever created it. */
    public record Issued(ApiKey record, String key) {
    }

    public static Issued issue(String tenant, Integer ratePerMinute, Integer maxActive, long nowMillis) {
        if (!isValidTenant(tenant)) {
            throw new IllegalArgumentException("tenant '" + tenant + "' must be 1-63 lower-case letters, digits, '-'"
                    + " or '_', starting with a letter or digit");
        }
        if (ratePerMinute != null && ratePerMinute < 1 || maxActive != null && maxActive < 1) {
            throw new IllegalArgumentException("--rate-per-minute and --max-active must be at least 1");
        }
        String key = "esk_" + random(24);
        String id = "key_" + HexFormat.of().formatHex(bytes(6));
        ApiKey record = new ApiKey(SCHEMA_VERSION, id, tenant, hash(key), "whsec_" + random(24), ratePerMinute,
                maxActive, nowMillis);
        return new Issued(record, key);
    }

    public static boolean isValidTenant(String tenant) {
        return tenant != null && TENANT.matcher(tenant).matches();
    }

    /** The hex SHA-256 of a presented key, as {@link #keyHash} holds it. */
    public static String hash(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM lacks SHA-256", e);
        }
    }

    /** This key without its secrets, as {@code keys list} shows it. */
    public ApiKey withoutSecrets() {
        return new ApiKey(schemaVersion, id, tenant, null, null, ratePerMinute, maxActive, createdAtMillis);
    }

    private static String random(int byteCount) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes(byteCount));
    }

    private static byte[] bytes(int count) {
        byte[] bytes = new byte[count];
        RANDOM.nextBytes(bytes);
        return bytes;
    }
}
