package dev.easel.gateway.observability;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.eclipse.microprofile.config.spi.ConfigSource;

/**
 * Traces are off unless {@code OTEL_EXPORTER_OTLP_ENDPOINT} (the variable the workers read too; or the system property
 * {@code otel.exporter.otlp.endpoint}) names an OTLP/HTTP
 * collector: then the OpenTelemetry SDK is switched on and exports there, and the Kafka connector traces the messages
 * it sends (it does not otherwise). Between application.properties and the
 * environment, so {@code QUARKUS_OTEL_*} variables still override it.
 */
public final class TracingSwitch implements ConfigSource {
    private static final int BETWEEN_PROPERTIES_AND_ENVIRONMENT = 275;

    private final Map<String, String> values = new HashMap<>();

    public TracingSwitch() {
        String endpoint = System.getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
        if (endpoint == null) {
            endpoint = System.getProperty("otel.exporter.otlp.endpoint");
        }
        boolean exporting = endpoint != null && !endpoint.isBlank();
        if (exporting) {
            values.put("quarkus.otel.sdk.disabled", "false");
            values.put("quarkus.otel.exporter.otlp.traces.endpoint", endpoint);
        }
        // The Kafka connector built a span for every message sent even with the SDK disabled: a few per cent of the
        // gateway's CPU for spans nobody exports. Set both ways, since the build records what it saw as a default.
        values.put("mp.messaging.connector.smallrye-kafka.tracing-enabled", Boolean.toString(exporting));
    }

    @Override
    public Map<String, String> getProperties() {
        return values;
    }

    @Override
    public Set<String> getPropertyNames() {
        return values.keySet();
    }

    @Override
    public String getValue(String name) {
        return values.get(name);
    }

    @Override
    public String getName() {
        return "easel-tracing-switch";
    }

    @Override
    public int getOrdinal() {
        return BETWEEN_PROPERTIES_AND_ENVIRONMENT;
    }
}
