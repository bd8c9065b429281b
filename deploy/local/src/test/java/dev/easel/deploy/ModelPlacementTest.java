package dev.easel.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contracts.JobRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Three models on two workers whose devices each hold one (EASEL_DEVICE_MEMORY_MB fits one toy model, not two), placed
 * from the queues: a mixed stream completes with a few placement moves rather than a load per job, a burst for a
 * cold model loads it and spreads over the devices whose models have nothing waiting, a model that keeps receiving
 * work is not loaded again, and the workers stay within their budgets.
 */
class ModelPlacementTest {
    /**
     * The toy model's weights are 3.2 MB, 3.8 MB as estimated loaded: 6 MB holds one and not two. Shorter placement
     * times than production's so the test runs in seconds; steps paced so a burst outlasts them.
     */
    private static final Map<String, String> ONE_MODEL = Map.of("EASEL_DEVICE_MEMORY_MB", "6",
            "EASEL_MIN_RESIDENCY_MS", "3000", "EASEL_PLACEMENT_WAIT_MS", "1000", "EASEL_MIN_STEP_MS", "25");
    private static final List<String> MODELS = List.of("model-a", "model-b", "model-c");

    private static TestStack stack;
    private static List<ServiceProcess> workers;
    private static GatewayClient client;

    @BeforeAll
    static void startStack() throws Exception {
        stack = TestStack.start("placement");
        List<Path> models = new ArrayList<>();
        for (String id : MODELS) {
            models.add(stack.linkedModel(id, stack.toyModel()));
        }
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
    void modelsArePlacedFromTheQueuesWithinTheBudgets() throws Exception {
        // The slots' wait after a move is read from the broker's share group settings (1 s heartbeats, 100 ms
        // assignments in the local stack), not assumed.
        for (ServiceProcess worker : workers) {
            assertTrue(Files.readString(worker.logFile()).contains("hands a device its queues within 2100 ms"),
                    worker.logFile().toString());
        }
        // A mixed stream: twelve jobs of three models at once on two one-model devices.
        int before = loads();
        List<String> mixed = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            mixed.add(submit(MODELS.get(i % 3), 2, i));
        }
        int loading = 0;
        for (String id : mixed) {
            List<GatewayClient.Event> events = client.events(id, 200, Duration.ofSeconds(120));
            assertEquals("completed", events.getLast().name(), events.getLast().data().toString());
            loading += (int) GatewayClient.count(events, "loading");
        }
        int mixedLoads = loads() - before;
        System.out.println("placement: 12 mixed jobs of 3 models on 2 one-model devices: " + mixedLoads + " loads, "
                + loading + " loading events");
        assertTrue(loading >= 1, "some model was cold: every device held model-c after start");
        assertTrue(mixedLoads <= 6, "models are placed, not loaded per job: " + mixedLoads + " loads for 12 jobs");
        for (JsonNode worker : client.get("/v1/workers").path("workers")) {
            int held = 0;
            for (JsonNode devices : worker.path("warmDevices")) {
                held += devices.asInt();
            }
            assertTrue(held <= 1, worker.path("id") + " holds " + held + " models on one device of one model's budget");
            assertEquals(6, worker.path("deviceMemoryMb").asInt());
            for (JsonNode usedMb : worker.path("deviceMemoryUsedMb")) {
                assertTrue(usedMb.asInt() >= 1 && usedMb.asInt() <= 6, worker.path("id") + " uses " + usedMb);
            }
        }

        // A burst for a model no device takes now: it is loaded, and spreads to the device whose model has no jobs.
        String cold = awaitColdModel();
        int beforeBurst = loads();
        List<String> burst = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            burst.add(submit(cold, 20, 100 + i));
        }
        java.util.Set<String> ranOn = new java.util.TreeSet<>();
        for (String id : burst) {
            List<GatewayClient.Event> events = client.events(id, 200, Duration.ofSeconds(120));
            assertEquals("completed", events.getLast().name(), events.getLast().data().toString());
            events.stream().filter(e -> e.name().equals("started")).forEach(e -> ranOn.add(e.data().path("workerId")
                    .asText()));
        }
        System.out.println("placement: a burst of 10 jobs for cold " + cold + " ran on " + ranOn + " with "
                + (loads() - beforeBurst) + " loads");
        assertEquals(2, ranOn.size(), "the burst spread over both devices once the other's model had no jobs");
        assertTrue(loads() - beforeBurst <= 2, "one load per device that joined the burst");

        // More work for that model loads nothing: both devices hold it.
        org.awaitility.Awaitility.await("GET /v1/models shows where " + cold + " is held").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(250)).until(() -> warmDevices(cold) == 2);
        int warm = loads();
        List<String> more = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            more.add(submit(cold, 2, 200 + i));
        }
        for (String id : more) {
            List<GatewayClient.Event> events = client.events(id, 200, Duration.ofSeconds(120));
            assertEquals("completed", events.getLast().name());
            assertEquals(0, GatewayClient.count(events, "loading"), cold + " was held");
        }
        assertEquals(warm, loads(), "no load for a model that keeps receiving work");
    }

    /** A model that no device takes now (three models, two one-model devices), once the announcements say so. */
    private static String awaitColdModel() {
        String[] cold = new String[1];
        org.awaitility.Awaitility.await("a model without a device").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(250)).until(() -> {
                    for (JsonNode served : client.get("/v1/models").path("models")) {
                        if (served.path("placedDevices").asInt() == 0) {
                            cold[0] = served.path("id").asText();
                            return true;
                        }
                    }
                    return false;
                });
        return cold[0];
    }

    private static int warmDevices(String model) throws Exception {
        for (JsonNode served : client.get("/v1/models").path("models")) {
            if (served.path("id").asText().equals(model)) {
                return served.path("warmDevices").asInt();
            }
        }
        return 0;
    }

    private static String submit(String model, int steps, long seed) throws Exception {
        return client.submit(JobRequest.builder("a green square").model(model).size(64, 64).steps(steps).seed(seed)
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
