package dev.easel.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.easel.contracts.JobRequest;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One trace per job across processes: a gateway and a worker of the real local stack export their spans over OTLP/HTTP
 * to a collector in this test, and the POST, the job's Kafka record and the worker's spans share one trace id.
 */
class TracingTest {
    private static TestStack stack;
    /** What the collector received: service, trace id, span name. */
    private record ReceivedSpan(String service, String traceId, String name) {
    }

    private static final List<ReceivedSpan> SPANS = new CopyOnWriteArrayList<>();
    private static HttpServer collector;
    private static GatewayClient client;

    @BeforeAll
    static void start() throws Exception {
        collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        collector.createContext("/", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            if (exchange.getRequestURI().getPath().endsWith("/v1/traces")) {
                SPANS.addAll(OtlpTraces.read(body));
            }
            exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        collector.start();
        String endpoint = "http://127.0.0.1:" + collector.getAddress().getPort();

        stack = TestStack.start("tracing");
        String kafka = stack.kafka();
        stack.worker("traced-worker", Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint));
        String gateway = stack.gateway("traced-gateway", Map.of("otel.exporter.otlp.endpoint", endpoint)).address();
        client = GatewayClient.withNewKey(gateway, kafka, "traced");
    }

    @AfterAll
    static void stop() throws Exception {
        if (stack != null) {
            stack.stopAll();
        }
        if (collector != null) {
            collector.stop(0);
        }
    }

    @Test
    void theGatewayAndTheWorkerSpansOfAJobShareOneTrace() throws Exception {
        String id = client.submit(JobRequest.builder("a red circle").size(64, 64).steps(4).guidanceScale(7.5)
                .scheduler("euler").seed(3L).build());
        assertEquals("completed", GatewayClient.names(client.events(id, null, 100, Duration.ofSeconds(120))).getLast());

        try {
            // Spans arrive in batches after the job ends; the assertions below say what is missing if some never do.
            // Each process exports its spans in its own batches: the POST's span ends after its Kafka record's, so it
            // may come a batch later; wait for every span the test names, not the first of each process.
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                    .until(() -> jobSpans().stream().anyMatch(s -> names(s.traceId()).containsAll(
                            Set.of("upload", "denoising")) && gatewaySpans(s.traceId()).stream().anyMatch(
                                    n -> n.startsWith("POST")) && gatewaySpans(s.traceId()).stream().anyMatch(
                                            n -> n.contains("easel.jobs.toy"))));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            System.out.println("not every span arrived within 60 s: " + SPANS);
        }
        List<ReceivedSpan> job = jobSpans();
        assertEquals(1, job.size(), "one job span: " + SPANS);
        String traceId = job.get(0).traceId();
        Set<String> names = names(traceId);
        assertTrue(names.containsAll(Set.of("easel.job", "text encoding", "denoising", "decoding", "upload")),
                "the worker's spans in the trace: " + names);
        assertEquals(Set.of("easel-gateway", "easel-worker"), services(traceId), "both processes in one trace");
        List<String> gatewaySpans = gatewaySpans(traceId);
        assertTrue(gatewaySpans.stream().anyMatch(n -> n.startsWith("POST")), "the POST: " + gatewaySpans);
        assertTrue(gatewaySpans.stream().anyMatch(n -> n.contains("easel.jobs.toy")),
                "the job's Kafka record: " + gatewaySpans);
    }

    private static List<ReceivedSpan> jobSpans() {
        return SPANS.stream().filter(s -> s.service().equals("easel-worker") && s.name().equals("easel.job")).toList();
    }

    private static List<String> gatewaySpans(String traceId) {
        return SPANS.stream().filter(s -> s.traceId().equals(traceId) && s.service().equals("easel-gateway"))
                .map(ReceivedSpan::name).toList();
    }

    private static Set<String> names(String traceId) {
        return SPANS.stream().filter(s -> s.traceId().equals(traceId)).map(ReceivedSpan::name)
                .collect(Collectors.toSet());
    }

    private static Set<String> services(String traceId) {
        return SPANS.stream().filter(s -> s.traceId().equals(traceId)).map(ReceivedSpan::service)
                .collect(Collectors.toSet());
    }

    /**
     * Reads OTLP's ExportTraceServiceRequest protobuf: resource_spans (1) holding the resource (1, its service.name
     * attribute) and scope_spans (2), each holding spans (2) with trace_id (1) and name (5).
     */
    private static final class OtlpTraces {
        private final byte[] bytes;
        private int at;

        private OtlpTraces(byte[] bytes) {
            this.bytes = bytes;
        }

        static List<ReceivedSpan> read(byte[] request) {
            List<ReceivedSpan> spans = new ArrayList<>();
            for (byte[] resourceSpans : fields(request, 1)) {
                String service = "";
                for (byte[] resource : fields(resourceSpans, 1)) {
                    for (byte[] attribute : fields(resource, 1)) {
                        String key = string(fields(attribute, 1));
                        if (key.equals("service.name")) {
                            service = string(fields(fields(attribute, 2).get(0), 1));
                        }
                    }
                }
                for (byte[] scopeSpans : fields(resourceSpans, 2)) {
                    for (byte[] span : fields(scopeSpans, 2)) {
                        spans.add(new ReceivedSpan(service, HexFormat.of().formatHex(fields(span, 1).get(0)),
                                string(fields(span, 5))));
                    }
                }
            }
            return spans;
        }

        private static String string(List<byte[]> values) {
            return values.isEmpty() ? "" : new String(values.get(0), StandardCharsets.UTF_8);
        }

        /** The length-delimited values of field {@code number} in {@code message}. */
        private static List<byte[]> fields(byte[] message, int number) {
            OtlpTraces reader = new OtlpTraces(message);
            List<byte[]> values = new ArrayList<>();
            while (reader.at < message.length) {
                long tag = reader.varint();
                int wireType = (int) (tag & 7);
                switch (wireType) {
                    case 0 -> reader.varint();
                    case 1 -> reader.at += 8;
                    case 5 -> reader.at += 4;
                    case 2 -> {
                        int length = (int) reader.varint();
                        if ((tag >>> 3) == number) {
                            ByteArrayOutputStream value = new ByteArrayOutputStream();
                            value.write(message, reader.at, length);
                            values.add(value.toByteArray());
                        }
                        reader.at += length;
                    }
                    default -> throw new IllegalArgumentException("wire type " + wireType + " in an OTLP message");
                }
            }
            return values;
        }

        private long varint() {
            long value = 0;
            for (int shift = 0; ; shift += 7) {
                byte b = bytes[at++];
                value |= (long) (b & 0x7f) << shift;
                if ((b & 0x80) == 0) {
                    return value;
                }
            }
        }
    }
}
