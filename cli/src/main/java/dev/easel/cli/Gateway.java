package dev.easel.cli;

import dev.easel.deploy.ApiKeyAdmin;
import dev.easel.deploy.LocalApiKey;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;

/** A gateway to call and the API key to call it with. */
record Gateway(String url, String key) {
    Gateway {
        url = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    /**
     * The key of {@code --key}, else {@code EASEL_API_KEY}, else the local stack's own key (when the gateway is the local
     * stack's).
     */
    static Gateway of(String url, Arguments arguments) throws Exception {
        String key = arguments.value("key", System.getenv("EASEL_API_KEY"));
        if (key == null || key.isBlank()) {
            key = LocalApiKey.load(EaselHome.folder()).map(ApiKeyAdmin.Created::key).orElseThrow(() ->
                    new UsageException("no API key: pass --key KEY or set EASEL_API_KEY (the local stack's key is"
                            + " created by ./easel up)"));
        }
        return new Gateway(url, key);
    }

    /** A new key of tenant {@code bench} with limits no benchmark reaches, on the broker behind this gateway. */
    static Gateway withBenchKey(String url, String kafka) throws Exception {
        ApiKeyAdmin.Created created = new ApiKeyAdmin(kafka).create("bench", 1_000_000, 100_000);
        ApiKeyAdmin.awaitAccepted(url, created.key(), Duration.ofSeconds(30));
        return new Gateway(url, created.key());
    }

    /** No gateway answers at the URL: not a usage error, but one whose message says all there is to do. */
    static final class Unreachable extends IOException {
        Unreachable(String url) {
            super("cannot reach the gateway at " + url + "; start the local stack with ./easel up, or pass"
                    + " --server URL");
        }
    }

    /** A request to {@code path} (from /v1 on) carrying the key. */
    HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(url + path)).header("Authorization", "Bearer " + key);
    }
}
