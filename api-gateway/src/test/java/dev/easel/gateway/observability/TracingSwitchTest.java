package dev.easel.gateway.observability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Tracing on only with a collector to export to; without one the Kafka connector builds no spans either. */
class TracingSwitchTest {
    private static final String ENDPOINT = "otel.exporter.otlp.endpoint";
    private static final String KAFKA_TRACING = "mp.messaging.connector.smallrye-kafka.tracing-enabled";

    @BeforeEach
    void noEndpointInTheEnvironment() {
        Assumptions.assumeTrue(System.getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == null,
                "OTEL_EXPORTER_OTLP_ENDPOINT is set in this environment, so tracing cannot be seen off here");
    }

    @AfterEach
    void clearEndpoint() {
        System.clearProperty(ENDPOINT);
    }

    @Test
    void withoutACollectorTheSdkStaysOffAndKafkaMessagesAreNotTraced() {
        TracingSwitch tracing = new TracingSwitch();
        assertNull(tracing.getValue("quarkus.otel.sdk.disabled"), "application.properties keeps the SDK disabled");
        assertEquals("false", tracing.getValue(KAFKA_TRACING));
    }

    @Test
    void aCollectorSwitchesTheSdkOnAndKafkaTracingWithIt() {
        System.setProperty(ENDPOINT, "http://127.0.0.1:4318");
        TracingSwitch tracing = new TracingSwitch();
        assertEquals("false", tracing.getValue("quarkus.otel.sdk.disabled"));
        assertEquals("http://127.0.0.1:4318", tracing.getValue("quarkus.otel.exporter.otlp.traces.endpoint"));
        assertEquals("true", tracing.getValue(KAFKA_TRACING), "set, not left to the default the build recorded");
    }
}
