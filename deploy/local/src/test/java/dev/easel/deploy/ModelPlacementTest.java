package dev.easel.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contracts.JobRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Three models on two workers whose devices each hold one (EASEL_DEVICE_MEMORY_MB fits one toy model, not two):
 * every job completes, a job whose model its device lacks says it is loading, the workers stay within their budgets,
 * and a model that keeps receiving work is not loaded again.
 */
class ModelPlacementTest {
    /** The toy model's weights are 3.2 MB, 3.8 MB as estimated loaded: 6 MB holds one and not two. */
    private static final Map<String, String> ONE_MODEL = Map.of("EASEL_DEVICE_MEMORY_MB", "6");

    private static TestStack stack;
    private static List<ServiceProcess> workers;
    private static GatewayClient client;

    @BeforeAll
    static void startStack() throws Exception {
        stack = TestStack.start("placement");
        List<Path> models = List.of(stack.linkedModel("model-a", stack.toyModel()),
                stack.linkedModel("model-b", stack.toyModel()), stack.linkedModel("model-c", stack.toyModel()));
        workers = List.of(stack.worker("placement-1", models, ONE_MODEL), stack.worker("placement-2", models,
                ONE_MODEL));
        ServiceProcess gateway = stack.gateway("placement-gateway", Map.of("easel.default-model", "model-a"));
        client = GatewayClient.withNewKey(gateway.address(), stack.kafka(), "placement", 100_000, 100_000);
    }

    @AfterAll
    static void stopStack() throws Exception {
        stack.stopAll();
    }

    @Test
    void aMixedStreamCompletesWithinTheBudgetsAndWarmModelsAreNotLoadedAgain() throws Exception {
        List<String> mixed = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            mixed.add(submit("model-" + "abc".charAt(i % 3), i));
        }
        int loading = 0;
        for (String id : mixed) {
            List<GatewayClient.Event> events = client.events(id, 200, Duration.ofSeconds(120));
            assertEquals("completed", events.getLast().name(), events.getLast().data().toString());
            loading += (int) GatewayClient.count(events, "loading");
        }
        System.out.println("placement: 9 jobs of 3 models on 2 one-model devices, " + loading + " loading events,"
                + " loads " + loads());
        assertTrue(loading >= 1, "some job found its model cold");
        for (JsonNode worker : client.get("/v1/workers").path("workers")) {
            int held = 0;
            for (JsonNode devices : worker.path("warmDevices")) {
                held += devices.asInt();
            }
            assertTrue(held <= 1, worker.path("id") + " holds " + held + " models on one device of one model's budget");
            assertEquals(6, worker.path("deviceMemoryMb").asInt());
        }

        // Work for one model only: once the devices that take its jobs hold it (rounds until one loads nothing; the
        // share group decides which slots see which queue), more of it loads nothing.
        int settled = -1;
        for (int round = 0; round < 10 && settled != loads(); round++) {
            settled = loads();
            for (String id : List.of(submit("model-c", 20), submit("model-c", 21), submit("model-c", 22),
                    submit("model-c", 23))) {
                assertEquals("completed", GatewayClient.names(client.events(id, 200, Duration.ofSeconds(120)))
                        .getLast());
            }
        }
        int warm = loads();
        List<String> more = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            more.add(submit("model-c", 30 + i));
        }
        for (String id : more) {
            List<GatewayClient.Event> events = client.events(id, 200, Duration.ofSeconds(120));
            assertEquals("completed", events.getLast().name());
            assertEquals(0, GatewayClient.count(events, "loading"), "model-c was held");
        }
        assertEquals(warm, loads(), "no load for a model that keeps receiving work");
        // The workers announce what they hold with each heartbeat (2 s).
        org.awaitility.Awaitility.await("GET /v1/models shows where model-c is held").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(250)).until(() -> warmDevices("model-c") >= 1);
    }

    private static int warmDevices(String model) throws Exception {
        for (JsonNode served : client.get("/v1/models").path("models")) {
            if (served.path("id").asText().equals(model)) {
                return served.path("warmDevices").asInt();
            }
        }
        return 0;
    }

    private static String submit(String model, long seed) throws Exception {
        return client.submit(JobRequest.builder("a green square").model(model).size(64, 64).steps(2).seed(seed)
                .build());
    }

    /** Model loads of both workers, from their metrics. */
    private static int loads() throws Exception {
        int total = 0;
        for (ServiceProcess worker : workers) {
            String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(worker.address()
                    .replace("/health/ready", "/metrics"))).build(), HttpResponse.BodyHandlers.ofString()).body();
            for (String line : metrics.split("\n")) {
                if (line.startsWith("easel_worker_model_loads_total")) {
                    total += (int) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
        }
        return total;
    }
}
