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
 * {@code easel bench scale}: throughput with 1, 2, 4... workers of {@code devicesPerWorker} devices on a stack of its
 * own (free ports, state under {@code .easel/bench-scale}). Each denoising step takes at least {@code minStepMillis}
 * (EASEL_MIN_STEP_MS, a stand-in for a GPU-bound step: two CPU cores cannot show GPU scaling with real compute; ONNX
 * Runtime on one thread per device). Every run submits {@code jobsPerWorker} jobs per device at once, so the queue
 * never runs dry, and reports jobs per second, the scaling against one worker, the pool's efficiency (jobs per second
 * against devices / (steps x minStepMillis), what devices that never idle would do), and the devices' idle time
 * between consecutive jobs.
 */
final class BenchScale {

    private final PrintStream out;
    private final PrintStream err;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    BenchScale(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    ObjectNode run(List<Integer> workerCounts, int devicesPerWorker, int jobsPerWorker, int steps, int minStepMillis,
            Path model) throws Exception {
        BenchStack bench = BenchStack.fresh("bench-scale");
        LocalStack stack = bench.stack();
        String kafka = bench.kafka();
        String s3 = bench.s3();
        ServiceProcess gatewayProcess = stack.gateway("bench-gateway", LocalStack.freePort(), kafka, s3);
        ArrayNode results = Json.MAPPER.createArrayNode();
        try {
            bench.start(err, gatewayProcess);
            Gateway gateway = Gateway.withBenchKey(gatewayProcess.address(), kafka);
            double single = 0;
            for (int workers : workerCounts) {
                List<ServiceProcess> pool = new ArrayList<>();
                try {
                    for (int i = 1; i <= workers; i++) {
                        ServiceProcess worker = stack.worker(new LocalStack.WorkerSettings("bench-worker-" + i, kafka,
                                s3, List.of(model), LocalStack.freePort(),
                                Map.of("EASEL_MIN_STEP_MS", Integer.toString(minStepMillis), "EASEL_WORKER_DEVICES",
                                        Integer.toString(devicesPerWorker), "EASEL_INTRA_OP_THREADS", "1")));
                        pool.add(worker);
                        worker.start(BenchStack.START);
                    }
                    awaitWorkers(gateway, workers);
                    int devices = workers * devicesPerWorker;
                    ObjectNode result = measure(gateway, workers, devices, jobsPerWorker, steps);
                    if (minStepMillis > 0) {
                        double ideal = devices * 1000.0 / (steps * (double) minStepMillis);
                        result.put("efficiency", Math.round(result.path("jobsPerSecond").asDouble() / ideal * 1000)
                                / 1000.0);
                    }
                    if (single == 0) {
                        single = result.path("jobsPerSecond").asDouble() / workers;
                    }
                    result.put("scaling", Math.round(result.path("jobsPerSecond").asDouble() / (workers * single)
                            * 1000) / 1000.0);
                    out.printf("%d worker(s), %d devices: %.2f jobs/s, scaling %.2f, efficiency %.3f (job p50 %.0f ms"
                                    + " on its device), devices busy %.3f of the time (%.3f while jobs waited), idle"
                                    + " between jobs p50 %.1f ms, p90 %.1f ms%n", workers, devices,
                            result.path("jobsPerSecond").asDouble(), result.path("scaling").asDouble(),
                            result.path("efficiency").asDouble(), result.path("engineP50Ms").asDouble(),
                            result.path("deviceBusyFraction").asDouble(), result.path("steadyBusyFraction").asDouble(),
                            result.path("deviceIdleP50Ms").asDouble(), result.path("deviceIdleP90Ms").asDouble());
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
        summary.put("devicesPerWorker", devicesPerWorker);
        summary.put("jobsPerDevice", jobsPerWorker);
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

    private ObjectNode measure(Gateway gateway, int workers, int devices, int jobsPerDevice, int steps)
            throws Exception {
        JobRequest request = JobRequest.builder("a red circle on a blue background").size(64, 64).steps(steps)
                .guidanceScale(7.5).scheduler("euler").seed(7L).build();
        // Warm-up: two jobs per worker, so every queue slot has joined the share group before the measured jobs (a slot
        // joins on its first poll, when a device is first free for it).
        followAll(gateway, request, 2 * devices);
        int jobs = devices * jobsPerDevice;
        long start = System.nanoTime();
        List<BenchE2e.Followed> followed = followAll(gateway, request, jobs);
        double seconds = (System.nanoTime() - start) / 1e9;
        List<Double> idle = followed.stream().map(f -> f.started().path("deviceIdleMillis"))
                .filter(JsonNode::isNumber).map(JsonNode::asDouble).sorted().toList();
        ObjectNode result = Json.MAPPER.createObjectNode();
        result.put("workers", workers);
        result.put("devices", devices);
        result.put("jobs", jobs);
        result.put("seconds", BenchE2e.round(seconds));
        result.put("jobsPerSecond", Math.round(jobs / seconds * 1000) / 1000.0);
        // The share of the devices' time spent generating: what the pool (queues, leases, hand-overs) leaves to the
        // engine, whatever the engine's own speed on this machine.
        double engineMillis = followed.stream().mapToDouble(f -> f.completed().path("timings").path("engineMillis")
                .asDouble()).sum();
        result.put("deviceBusyFraction", Math.round(engineMillis / (devices * seconds * 1000) * 1000) / 1000.0);
        result.put("steadyBusyFraction", steadyBusyFraction(followed, devices));
        result.put("engineP50Ms", BenchE2e.round(BenchE2e.percentile(followed.stream().map(f -> f.completed()
                .path("timings").path("engineMillis").asDouble()).sorted().toList(), 50)));
        result.put("deviceIdleP50Ms", BenchE2e.round(BenchE2e.percentile(idle, 50)));
        result.put("deviceIdleP90Ms", BenchE2e.round(BenchE2e.percentile(idle, 90)));
        return result;
    }

    /**
     * The share of the devices' time spent generating while every device had work waiting: from the moment the
     * {@code devices}-th job started (all devices busy) to the moment the last job started (the queue ran dry), each
     * job's generation [started, started + engine time] clipped to that window. The ramp-up and the ragged end of a
     * finite batch are left out, so this is what the pool's own hand-overs cost a device that always has a next job.
     */
    private static double steadyBusyFraction(List<BenchE2e.Followed> followed, int devices) {
        List<long[]> runs = followed.stream().map(f -> {
            long start = f.started().path("atMillis").asLong();
            return new long[] {start, start + f.completed().path("timings").path("engineMillis").asLong()};
        }).sorted(java.util.Comparator.comparingLong(r -> r[0])).toList();
        if (runs.size() <= devices) {
            return 0;
        }
        long from = runs.get(devices - 1)[0];
        long to = runs.getLast()[0];
        if (to <= from) {
            return 0;
        }
        long busy = 0;
        for (long[] run : runs) {
            busy += Math.max(0, Math.min(run[1], to) - Math.max(run[0], from));
        }
        return Math.round((double) busy / (devices * (double) (to - from)) * 1000) / 1000.0;
    }

    /**
     * Submits {@code count} jobs at once (a client each: fewer clients than devices would leave devices waiting for
     * the next submit) and follows each to completion.
     */
    private List<BenchE2e.Followed> followAll(Gateway gateway, JobRequest request, int count) throws Exception {
        return BenchE2e.followAll(http, gateway, java.util.Collections.nCopies(count, request), count);
    }
}
