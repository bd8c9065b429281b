package dev.easel.deploy;

import dev.easel.contracts.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Optional;

/**
 * The local stack's own API key (tenant {@code local}), created on the first {@code easel up} and kept in
 * {@code api-key.json} under the stack's folder (readable by its owner only), so {@code generate} and {@code demo}
 * work without a key being handed around. A broker whose data was wiped gets a new one.
 */
public final class LocalApiKey {
    public static final String TENANT = "local";
    private static final String FILE = "api-key.json";

    private LocalApiKey() {
    }

    public static Optional<ApiKeyAdmin.Created> load(Path home) throws IOException {
        Path file = home.resolve(FILE);
        return Files.isRegularFile(file) ? Optional.of(Json.read(Files.readAllBytes(file), ApiKeyAdmin.Created.class))
                : Optional.empty();
    }

    /** The saved key if the broker still has it, else a new one; returns once the gateway accepts it. */
    public static ApiKeyAdmin.Created ensure(Path home, String kafka, String gatewayUrl) throws Exception {
        ApiKeyAdmin admin = new ApiKeyAdmin(kafka);
        Optional<ApiKeyAdmin.Created> saved = load(home);
        ApiKeyAdmin.Created key;
        if (saved.isPresent() && admin.find(saved.get().id()).isPresent()) {
            key = saved.get();
        } else {
            key = admin.create(TENANT, null, null);
            Path file = home.resolve(FILE);
            Files.createDirectories(home);
            Files.write(file, Json.bytes(key));
            try {
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: the folder's own permissions apply
            }
        }
        ApiKeyAdmin.awaitAccepted(gatewayUrl, key.key(), Duration.ofSeconds(30));
        return key;
    }
}
