package dev.easel.gateway.webhooks;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The {@code Easel-Signature} header of a webhook delivery: {@code t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<body>">}, keyed with the submitting key's webhook secret. A receiver recomputes it and rejects deliveries whose
 * {@code t} is too old, which stops replays.
 */
public final class WebhookSignature {
    private WebhookSignature() {
    }

    public static String header(String secret, long unixSeconds, String body) {
        return "t=" + unixSeconds + ",v1=" + hmac(secret, unixSeconds + "." + body);
    }

    static String hmac(String secret, String message) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(message.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JVM lacks HmacSHA256", e);
        }
    }
}
