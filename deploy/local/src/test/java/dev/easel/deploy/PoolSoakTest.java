package dev.easel.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.easel.contracts.Json;
import io.minio.ListObjectsArgs;
import io.minio.MinioClient;
import io.minio.Result;
import io.minio.messages.Item;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The soak: 2,000 jobs through 3 workers while one worker is killed and restarted twice and the broker once. Every job
 * completes exactly once as the gateway reports it, and the bucket holds exactly the expected objects. It takes several
 * minutes, so it runs only when asked: {@code ./easel soak} ({@code EASEL_SOAK_JOBS=N} changes the count).
 */
class PoolSoakTest {
    private static TestStack stack;

    @AfterAll
    static void stopStack() throws Exception {
        if (stack != null) {
            stack.stopAll();
        }
    }

    private static ServiceProcess start(ServiceProcess service) throws Exception {
        return stack.start(service);
    }

    @Test
    void twoThousandJobsThroughFaultsCompleteOnceEach() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("easel.soak"), "the soak runs only with -Deasel.soak=true");
        int jobs = Integer.getInteger("easel.soak.jobs", 2000);
        stack = TestStack.start("soak");
        String kafka = stack.kafka();
        ServiceProcess broker = stack.broker();
        List<ServiceProcess> workers = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            workers.add(stack.worker("soak-worker-" + i, Map.of("EASEL_LOCK_MS", "5000")));
        }
        GatewayClient gateway = GatewayClient.withNewKey(stack.gateway("soak-gateway", Map.of()).address(), kafka,
                "soak");

        long started = System.nanoTime();
        List<String> ids = new ArrayList<>();
        ExecutorService followers = Executors.newFixedThreadPool(32);
        List<Future<List<GatewayClient.Event>>> streams = new ArrayList<>();
        for (int i = 0; i < jobs; i++) {
            // Faults at fixed points of the submission: the broker once, one worker killed and restarted twice.
            if (i == jobs / 4 || i == (3 * jobs) / 4) {
                TestStack.kill(workers.get(0));
                start(workers.get(0));
            }
            if (i == jobs / 2) {
                TestStack.kill(broker);
                start(broker);
            }
            String id = submitRetrying(gateway, i);
            ids.add(id);
            streams.add(followers.submit(() -> gateway.events(id, Integer.MAX_VALUE, Duration.ofMinutes(30))));
        }
        int completed = 0;
        int duplicates = 0;
        for (Future<List<GatewayClient.Event>> stream : streams) {
            List<GatewayClient.Event> events = stream.get();
            long count = GatewayClient.count(events, "completed");
            completed += count > 0 ? 1 : 0;
            duplicates += count > 1 ? 1 : 0;
        }
        followers.shutdown();
        double seconds = (System.nanoTime() - started) / 1e9;

        MinioClient client = MinioClient.builder().endpoint(stack.s3())
                .credentials(LocalStack.S3_ACCESS_KEY, LocalStack.S3_SECRET_KEY).region("us-east-1").build();
        Set<String> objects = new HashSet<>();
        for (Result<Item> item : client.listObjects(ListObjectsArgs.builder().bucket("easel-images").recursive(true)
                .build())) {
            objects.add(item.get().objectName());
        }
        Set<String> expected = new HashSet<>();
        for (String id : ids) {
            expected.add("soak/" + id + "/0.png");
            expected.add("soak/" + id + "/job.json");
        }
        System.out.println("soak: " + jobs + " jobs, " + completed + " completed, " + duplicates
                + " with more than one completed, " + objects.size() + " objects, " + Math.round(seconds) + " s");
        assertEquals(jobs, completed, "every accepted job completed");
        assertEquals(0, duplicates, "no job completed twice as the gateway reports it");
        assertEquals(expected, objects, "exactly the expected objects in the bucket");
    }

    /** Submits job {@code i}; while the broker restarts the gateway answers 503, and the client tries again. */
    private static String submitRetrying(GatewayClient gateway, int i) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (true) {
            var response = gateway.post(GatewayClient.request("a red circle on a blue background", 4, i));
            if (response.statusCode() == 202) {
                return Json.MAPPER.readTree(response.body()).path("id").asText();
            }
            assertEquals(503, response.statusCode(), response.body());
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the gateway kept refusing jobs: " + response.body());
            }
            Thread.sleep(500);
        }
    }
}
