package dev.easel.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.Json;
import dev.easel.deploy.LocalStack;
import dev.easel.deploy.ServiceProcess;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code easel bench scale}: throughput with 1, 2, 4... single-device workers on a stack of its own (free ports, state
 * under {@code .easel/bench-scale}). Each denoising step takes at least {@code minStepMillis} (EASEL_MIN_STEP_MS, a
 * stand-in for a GPU-bound step: two CPU cores cannot show GPU scaling with real compute). Every run submits
 * {@code jobsPerWorker} jobs per worker at once, so the queue never runs dry, and reports jobs per second, the scaling
 * against one worker, and the devices' idle time between consecutive jobs.
 */
final class BenchScale {
    private static final Duration START = Duration.ofSeconds(180);

    private final PrintStream out;
    private final PrintStream err;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    BenchScale(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    ObjectNode run(List<Integer> workerCounts, int jobsPerWorker, int steps, int minStepMillis, Path model)
            throws Exception {
        BenchStack bench = BenchStack.fresh("bench-scale");
        LocalStack stack = bench.stack();
        String kafka = bench.kafka();
        String s3 = bench.s3();
        ServiceProcess gatewayProcess = stack.gateway("bench-gateway", LocalStack.freePort(), kafka, s3);
        ArrayNode results = Json.MAPPER.createArrayNode();
        try {
            bench.start(err);
            err.println("starting " + gatewayProcess.name());
            gatewayProcess.start(START);
            Gateway gateway = Gateway.withBenchKey(gatewayProcess.address(), kafka);
            double single = 0;
            for (int workers : workerCounts) {
                List<ServiceProcess> pool = new ArrayList<>();
                try {
                    for (int i = 1; i <= workers; i++) {
                        ServiceProcess worker = stack.worker(new LocalStack.WorkerSettings("bench-worker-" + i, kafka,
                                s3, List.of(model), LocalStack.freePort(),
                                Map.of("EASEL_MIN_STEP_MS", Integer.toString(minStepMillis))));
                        pool.add(worker);
                        worker.start(START);
                    }
                    awaitWorkers(gateway, workers);
                    ObjectNode result = measure(gateway, workers, jobsPerWorker, steps);
                    if (single == 0) {
                        single = result.path("jobsPerSecond").asDouble() / workers;
                    }
                    result.put("scaling", Math.round(result.path("jobsPerSecond").asDouble() / (workers * single)
                            * 1000) / 1000.0);
                    out.printf("%d worker(s): %.2f jobs/s, scaling %.2f, device idle between jobs p50 %.1f ms,"
                                    + " p90 %.1f ms%n", workers, result.path("jobsPerSecond").asDouble(),
                            result.path("scaling").asDouble(), result.path("deviceIdleP50Ms").asDouble(),
                            result.path("deviceIdleP90Ms").asDouble());
                    results.add(result);
                } finally {
                    for (ServiceProcess worker : pool) {
                        worker.stop(Duration.ofSeconds(60));
                    }
                }
            }
        } finally {
            gatewayProcess.stop(Duration.ofSeconds(30));
            bench.stop();
        }
        ObjectNode summary = Json.MAPPER.createObjectNode();
        summary.put("benchmark", "scale");
        summary.put("jobsPerWorker", jobsPerWorker);
        summary.put("steps", steps);
        summary.put("minStepMillis", minStepMillis);
        summary.set("results", results);
        return summary;
    }

    /** Waits until the gateway sees {@code count} live workers (their announcements). */
    private void awaitWorkers(Gateway gateway, int count) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode models = Json.MAPPER.readTree(http.send(gateway.request("/v1/models").GET().build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body()).path("models");
            if (models.size() == 1 && models.get(0).path("workers").size() == count) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IOException("the gateway did not see " + count + " workers within 60 s");
    }

    private ObjectNode measure(Gateway gateway, int workers, int jobsPerWorker, int steps) throws Exception {
        JobRequest request = JobRequest.builder("a red circle on a blue background").size(64, 64).steps(steps)
                .guidanceScale(7.5).scheduler("euler").seed(7L).build();
        // Warm-up: two jobs per worker, so every queue slot has joined the share group before the measured jobs (a slot
        // joins on its first poll, when a device is first free for it).
        followAll(gateway, request, 2 * workers);
        int jobs = workers * jobsPerWorker;
        long start = System.nanoTime();
        List<BenchE2e.Followed> followed = followAll(gateway, request, jobs);
        double seconds = (System.nanoTime() - start) / 1e9;
        List<Double> idle = followed.stream().map(f -> f.started().path("deviceIdleMillis"))
                .filter(JsonNode::isNumber).map(JsonNode::asDouble).sorted().toList();
        ObjectNode result = Json.MAPPER.createObjectNode();
        result.put("workers", workers);
        result.put("jobs", jobs);
        result.put("seconds", BenchE2e.round(seconds));
        result.put("jobsPerSecond", Math.round(jobs / seconds * 1000) / 1000.0);
        result.put("deviceIdleP50Ms", BenchE2e.round(BenchE2e.percentile(idle, 50)));
        result.put("deviceIdleP90Ms", BenchE2e.round(BenchE2e.percentile(idle, 90)));
        return result;
    }

    /** Submits {@code count} jobs at once and follows each to completion. */
    private List<BenchE2e.Followed> followAll(Gateway gateway, JobRequest request, int count) throws Exception {
        return BenchE2e.followAll(http, gateway, java.util.Collections.nCopies(count, request), Math.min(count, 64));
    }
}
