package dev.easel.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.contracts.JobRequest;
import dev.easel.store.ModelCache;
import dev.easel.store.ModelManifest;
import dev.easel.store.ModelStore;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The model store on the real S3 server: a pushed folder in the catalogue, the worker's verified disk cache (downloads,
 * reuse, damage, eviction), a worker serving a store model through the pool, from the cache on its second start, and a
 * worker serving the whole store taking up a model pushed while it runs.
 */
class ModelStoreTest {
    private static TestStack stack;
    private static ModelStore store;

    @BeforeAll
    static void startStack() throws Exception {
        stack = TestStack.start("store");
        store = new ModelStore(stack.s3(), LocalStack.S3_ACCESS_KEY, LocalStack.S3_SECRET_KEY, "easel-models");
    }

    @AfterAll
    static void stopStack() throws Exception {
        stack.stopAll();
    }

    @Test
    void aPushedModelIsInTheCatalogueAndTheCacheServesItVerified() throws Exception {
        ModelManifest pushed = store.push(stack.toyModel(), "toy-cached");
        assertEquals("stable-diffusion", pushed.kind());
        assertTrue(store.catalogue().stream().anyMatch(m -> m.id().equals("toy-cached")));
        assertTrue(pushed.files().stream().anyMatch(f -> f.path().equals("unet/model.onnx")));

        Path cacheDir = stack.home().resolve("cache-a");
        ModelCache cache = new ModelCache(cacheDir, 1L << 30, store);
        ModelCache.Fetched first = cache.fetch("toy-cached");
        assertTrue(first.downloaded());
        assertEquals(cacheDir.resolve("toy-cached"), first.folder());
        for (ModelManifest.File file : pushed.files()) {
            assertEquals(file.bytes(), Files.size(first.folder().resolve(file.path())), file.path());
        }
        assertFalse(cache.fetch("toy-cached").downloaded(), "the second time from the cache");

        // A damaged copy (a file cut short) is downloaded again, not served.
        Path unet = first.folder().resolve("unet/model.onnx");
        Files.write(unet, new byte[10]);
        assertTrue(cache.fetch("toy-cached").downloaded());
        assertEquals(pushed.files().stream().filter(f -> f.path().equals("unet/model.onnx")).findFirst()
                .orElseThrow().bytes(), Files.size(unet));

        // The store's copy damaged: the download fails naming the file, and nothing half-written is left in place.
        MinioClient s3 = MinioClient.builder().endpoint(stack.s3())
                .credentials(LocalStack.S3_ACCESS_KEY, LocalStack.S3_SECRET_KEY).region("us-east-1").build();
        byte[] junk = "not a model".getBytes();
        store.push(stack.toyModel(), "toy-damaged");
        s3.putObject(PutObjectArgs.builder().bucket("easel-models").object("toy-damaged/unet/model.onnx")
                .stream(new ByteArrayInputStream(junk), junk.length, -1).build());
        IOException damaged = assertThrows(IOException.class, () -> cache.fetch("toy-damaged"));
        assertTrue(damaged.getMessage().contains("unet/model.onnx") && damaged.getMessage().contains("push the model"
                + " again"), damaged.getMessage());
        assertFalse(Files.exists(cacheDir.resolve("toy-damaged")));
        try (var left = Files.list(cacheDir)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().startsWith(".partial")));
        }

        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> cache.fetch("nope"));
        assertTrue(unknown.getMessage().contains("./easel models push"), unknown.getMessage());
    }

    @Test
    void theLeastRecentlyUsedModelNotInUseMakesRoom() throws Exception {
        store.push(stack.toyModel(), "toy-one");
        store.push(stack.toyModel(), "toy-two");
        long modelBytes = store.manifest("toy-one").orElseThrow().bytes();
        // Room for one model and a half: the second download evicts the first once it is no longer in use.
        ModelCache cache = new ModelCache(stack.home().resolve("cache-b"), modelBytes * 3 / 2, store);
        cache.fetch("toy-one");
        IOException full = assertThrows(IOException.class, () -> cache.fetch("toy-two"));
        assertTrue(full.getMessage().contains("EASEL_MODEL_CACHE_MB"), full.getMessage());
        cache.release("toy-one");
        assertTrue(cache.fetch("toy-two").downloaded());
        assertFalse(Files.exists(stack.home().resolve("cache-b/toy-one")), "toy-one was evicted");
        assertTrue(cache.usedBytes() <= modelBytes * 3 / 2);
    }

    @Test
    void aWorkerServesAStoreModelAndUsesItsCacheOnTheNextStart() throws Exception {
        store.push(stack.toyModel(), "toy-store");
        Path cacheDir = stack.home().resolve("worker-cache");
        Map<String, String> environment = Map.of("EASEL_MODEL_DIR", "", "EASEL_STORE_MODELS", "toy-store",
                "EASEL_MODEL_CACHE_DIR", cacheDir.toString());
        ServiceProcess worker = stack.worker("store-worker", List.of(), environment);
        ServiceProcess gateway = stack.gateway("store-gateway", Map.of());
        GatewayClient client = GatewayClient.withNewKey(gateway.address(), stack.kafka(), "store");
        String id = client.submit(JobRequest.builder("a red circle").model("toy-store").size(64, 64).steps(3)
                .seed(1L).build());
        assertEquals("completed", GatewayClient.names(client.events(id, 100, Duration.ofSeconds(60))).getLast());
        assertTrue(Files.readString(worker.logFile()).contains("model toy-store (") && Files.readString(
                worker.logFile()).contains("downloaded and verified in"), "the first start downloads");

        stack.stop(worker, Duration.ofSeconds(30));
        worker = stack.worker("store-worker", List.of(), environment);
        assertTrue(Files.readString(worker.logFile()).contains("verified copy from the cache"),
                "the second start uses the cache");
        awaitServed(client, "toy-store");
        String again = client.submit(JobRequest.builder("a blue square").model("toy-store").size(64, 64).steps(3)
                .seed(2L).build());
        assertEquals("completed", GatewayClient.names(client.events(again, 100, Duration.ofSeconds(60))).getLast());
    }

    @Test
    void aModelPushedWhileAWorkerServesTheStoreIsServedWithoutARestart() throws Exception {
        // A bucket of its own: the other tests push damaged models to the default one.
        ModelStore own = new ModelStore(stack.s3(), LocalStack.S3_ACCESS_KEY, LocalStack.S3_SECRET_KEY,
                "easel-models-live");
        own.push(stack.toyModel(), "toy-first");
        ServiceProcess worker = stack.worker("store-all-worker", List.of(), Map.of("EASEL_MODEL_DIR", "",
                "EASEL_STORE_MODELS", "all", "EASEL_MODEL_BUCKET", "easel-models-live", "EASEL_MODEL_CACHE_DIR",
                stack.home().resolve("live-cache").toString()));
        ServiceProcess gateway = stack.gateway("store-live-gateway", Map.of("easel.default-model", "toy-first"));
        GatewayClient client = GatewayClient.withNewKey(gateway.address(), stack.kafka(), "store-live");

        own.push(stack.toyModel(), "toy-later");
        awaitServed(client, "toy-later");
        String id = client.submit(JobRequest.builder("a red circle").model("toy-later").size(64, 64).steps(3)
                .seed(1L).build());
        assertEquals("completed", GatewayClient.names(client.events(id, 100, Duration.ofSeconds(60))).getLast());
        assertTrue(Files.readString(worker.logFile()).contains("now serves toy-later"), "served without a restart");
        String first = client.submit(JobRequest.builder("a red circle").model("toy-first").size(64, 64).steps(3)
                .seed(1L).build());
        assertEquals("completed", GatewayClient.names(client.events(first, 100, Duration.ofSeconds(60))).getLast());
    }

    /** Waits until the gateway lists {@code model} as served (a worker's announcement reaches it within a moment). */
    private static void awaitServed(GatewayClient client, String model) {
        org.awaitility.Awaitility.await("GET /v1/models lists " + model).atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(250)).until(() -> {
                    for (com.fasterxml.jackson.databind.JsonNode served : client.get("/v1/models").path("models")) {
                        if (served.path("id").asText().equals(model)) {
                            return true;
                        }
                    }
                    return false;
                });
    }
}
