package dev.easel.gateway.tenants;


import dev.easel.contracts.ApiKey;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import java.util.Optional;
import java.util.Set;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * Every {@code /v1} request presents {@code Authorization: Bearer <key>}; a missing or unknown key is 401 with
 * {@code WWW-Authenticate}. {@code easel.auth.mode=open} turns keys off (every caller is the tenant {@code open}), and
 * is refused unless the gateway listens on loopback only.
 */
public class Authentication {
    private static final Logger LOG = Logger.getLogger(Authentication.class);
    static final String OPEN_TENANT = "open";
    private static final ApiKey OPEN_KEY = new ApiKey(ApiKey.SCHEMA_VERSION, "open", OPEN_TENANT, null, null, null,
            null, 0);
    private static final Set<String> LOOPBACK = Set.of("127.0.0.1", "localhost", "::1", "[::1]");

    @Inject
    ApiKeys keys;

    @Inject
    Caller caller;

    @ConfigProperty(name = "easel.auth.mode", defaultValue = "keys")
    String mode;

    @ConfigProperty(name = "quarkus.http.host", defaultValue = "127.0.0.1")
    String host;

    void onStart(@Observes StartupEvent event) {
        if (mode.equals("open")) {
            if (!LOOPBACK.contains(host)) {
                throw new IllegalStateException("easel.auth.mode=open (no API keys) is allowed only on loopback, but"
                        + " quarkus.http.host is " + host + "; use API keys (easel.auth.mode=keys) or listen on"
                        + " 127.0.0.1");
            }
            LOG.warnf("API keys are OFF (easel.auth.mode=open): anyone who reaches %s may use the API, as tenant '%s'",
                    host, OPEN_TENANT);
        } else if (!mode.equals("keys")) {
            throw new IllegalStateException("easel.auth.mode is '" + mode + "'; use keys (the default) or open");
        }
    }

    @ServerRequestFilter
    public Optional<Response> authenticate(ContainerRequestContext request) {
        if (!request.getUriInfo().getPath().startsWith("/v1")) {
            return Optional.empty();
        }
        if (mode.equals("open")) {
            caller.authenticate(OPEN_KEY);
            return Optional.empty();
        }
        String header = request.getHeaderString(HttpHeaders.AUTHORIZATION);
        if (header == null || header.isBlank()) {
            throw new UnauthorizedException(null, "this API needs a key: send 'Authorization: Bearer <key>' (create a"
                    + " key with ./easel keys create --tenant NAME)");
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7) || header.length() <= 7) {
            throw new UnauthorizedException("invalid_request", "the Authorization header must be 'Bearer <key>'");
        }
        Optional<ApiKey> key = keys.find(header.substring(7).strip());
        if (key.isEmpty()) {
            throw new UnauthorizedException("invalid_token", "the API key is unknown or was revoked; ask for a new"
                    + " one (./easel keys create --tenant NAME)");
        }
        caller.authenticate(key.get());
        return Optional.empty();
    }
}
