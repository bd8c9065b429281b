package dev.easel.cli;

import dev.easel.contracts.ApiKey;
import dev.easel.contracts.Json;
import dev.easel.deploy.ApiKeyAdmin;
import dev.easel.deploy.StackSettings;
import java.io.PrintStream;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * {@code easel keys create|list|revoke}: API keys on the broker the gateways read ({@code --kafka HOST:PORT}, by default
 * the local stack's).
 */
final class KeysCommand {
    static final String USAGE = "usage: easel keys create --tenant NAME [--rate-per-minute N] [--max-active N]"
            + " | keys list | keys revoke ID   (each with [--kafka HOST:PORT], default the local stack's broker)";

    private final PrintStream out;
    private final PrintStream err;

    KeysCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int run(List<String> args) throws Exception {
        if (args.isEmpty()) {
            throw new UsageException(USAGE);
        }
        List<String> rest = args.subList(1, args.size());
        return switch (args.get(0)) {
            case "create" -> create(new Arguments(rest, Set.of("tenant", "rate-per-minute", "max-active", "kafka"),
                    Set.of()));
            case "list" -> list(new Arguments(rest, Set.of("kafka"), Set.of()));
            case "revoke" -> revoke(new Arguments(rest, Set.of("kafka"), Set.of()));
            default -> throw new UsageException(USAGE);
        };
    }

    private static ApiKeyAdmin admin(Arguments arguments) throws Exception {
        return new ApiKeyAdmin(arguments.value("kafka", StackSettings.load(EaselHome.folder()).kafkaBootstrap()));
    }

    private int create(Arguments arguments) throws Exception {
        String tenant = arguments.value("tenant");
        if (tenant == null || !arguments.positional().isEmpty()) {
            throw new UsageException(USAGE);
        }
        Integer rate = arguments.value("rate-per-minute") == null ? null : arguments.intValue("rate-per-minute", 0);
        Integer maxActive = arguments.value("max-active") == null ? null : arguments.intValue("max-active", 0);
        ApiKeyAdmin.Created created = admin(arguments).create(tenant, rate, maxActive);
        err.println("created " + created.id() + " for tenant " + tenant + "; the key is shown only now: keep it");
        out.println(Json.write(created));
        return 0;
    }

    private int list(Arguments arguments) throws Exception {
        if (!arguments.positional().isEmpty()) {
            throw new UsageException(USAGE);
        }
        for (ApiKey key : admin(arguments).list()) {
            out.printf("%-16s  %-20s  rate/min %-8s  max active %-6s  created %s%n", key.id(), key.tenant(),
                    key.ratePerMinute() == null ? "default" : key.ratePerMinute(),
                    key.maxActive() == null ? "default" : key.maxActive(), Instant.ofEpochMilli(key.createdAtMillis()));
        }
        return 0;
    }

    private int revoke(Arguments arguments) throws Exception {
        if (arguments.positional().size() != 1) {
            throw new UsageException(USAGE);
        }
        String id = arguments.positional().get(0);
        if (!admin(arguments).revoke(id)) {
            throw new UsageException("no live key with id '" + id + "'; ./easel keys list shows them");
        }
        out.println("revoked " + id);
        return 0;
    }
}
