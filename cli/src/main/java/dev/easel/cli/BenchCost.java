package dev.easel.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.Json;
import dev.easel.deploy.LocalStack;
import dev.easel.deploy.ServiceProcess;
import dev.easel.models.ModelGenerator;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code easel bench cost}: what the control plane costs per job, on a stack of its own. One gateway, one worker of
 * {@code devices} devices on the toy model (ONNX Runtime on one thread, so the engine's CPU equals its wall time),
 * {@code concurrency} clients each submitting a job and following its SSE stream until {@code jobs} are done, after a
 * warm-up; steps may be held to {@code --min-step-ms} (EASEL_MIN_STEP_MS) so that their events come apart as a GPU's
 * do. Reports the CPU time each process spent per job (from the OS: {@code ProcessHandle} CPU durations before and
 * after), the worker's beyond its engine (unpaced only), the shared services' per event, the overhead (end to end minus
 * engine) p50/p99 and its parts, and how long each step's event took from being stamped to reaching its client. Before
 * the measured jobs it reads what each process spends idle for {@code --idle-seconds}, and splits each process's cost
 * into that floor (a cost per second and per queue slot, not per job) and what the jobs added to it. The last stdout
 * line is one JSON object.
 */
final class BenchCost {

    private final PrintStream out;
    private final PrintStream err;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    BenchCost(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int run(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args, java.util.Set.of("jobs", "concurrency", "devices", "steps",
                "min-step-ms", "warmup", "idle-seconds"), java.util.Set.of());
        int jobs = arguments.intValue("jobs", 60);
        int concurrency = arguments.intValue("concurrency", 1);
        int devices = arguments.intValue("devices", 1);
        int steps = arguments.intValue("steps", 10);
        // Steps held to this long stand in for GPU-bound ones: their events then come apart, as on a real pool.
        int minStepMillis = arguments.intValue("min-step-ms", 0);
        if (minStepMillis < 0) {
            throw new UsageException("--min-step-ms must be 0 or more");
        }
        int warmup = arguments.intValue("warmup", BenchE2e.WARMUP_JOBS);
        int idleSeconds = arguments.intValue("idle-seconds", 10);
        if (idleSeconds < 0) {
            throw new UsageException("--idle-seconds must be 0 or more");
        }
        Path model = EaselHome.generatedModel(ModelGenerator.Kind.TOY, err);
        BenchStack bench = BenchStack.fresh("bench-cost");
        LocalStack stack = bench.stack();
        ServiceProcess gateway = stack.gateway("cost-gateway", LocalStack.freePort(), bench.kafka(), bench.s3());
        ServiceProcess worker = stack.worker(new LocalStack.WorkerSettings("cost-worker", bench.kafka(), bench.s3(),
                List.of(model), LocalStack.freePort(), Map.of("EASEL_WORKER_DEVICES", Integer.toString(devices),
                        "EASEL_INTRA_OP_THREADS", "1", "EASEL_INTER_OP_THREADS", "1", "EASEL_MIN_STEP_MS",
                        Integer.toString(minStepMillis))));
        try {
            bench.start(err, worker, gateway);
            Gateway server = Gateway.withBenchKey(gateway.address(), bench.kafka());
            JobRequest request = JobRequest.builder("a red circle on a blue background").size(64, 64).steps(steps)
                    .guidanceScale(7.5).scheduler("euler").seed(3L).build();
            err.println("warm-up: " + warmup + " jobs...");
            followAll(server, request, Math.max(warmup, 4 * devices + 6), concurrency);
            Map<String, ServiceProcess> processes = new LinkedHashMap<>();
            processes.put("broker", bench.infrastructure().get(0));
            processes.put("gateway", gateway);
            processes.put("worker", worker);
            processes.put("s3", bench.infrastructure().get(1));
            Map<String, Double> idleMillisPerSecond = idleCpu(processes, idleSeconds);
            Map<String, Long> before = cpuNanos(processes);
            long start = System.nanoTime();
            List<Measured> measured = followAll(server, request, jobs, concurrency);
            double seconds = (System.nanoTime() - start) / 1e9;
            Map<String, Long> after = cpuNanos(processes);

            ObjectNode perJob = Json.MAPPER.createObjectNode();
            // What the jobs added to what the same stack spends idle (heartbeats, polls, timers) over as long.
            ObjectNode beyondIdle = Json.MAPPER.createObjectNode();
            double shared = 0;
            double sharedBeyondIdle = 0;
            for (String name : processes.keySet()) {
                double millis = (after.get(name) - before.get(name)) / 1e6 / jobs;
                double millisBeyondIdle = millis - idleMillisPerSecond.get(name) * seconds / jobs;
                perJob.put(name, round(millis));
                beyondIdle.put(name, round(millisBeyondIdle));
                if (!name.equals("worker")) {
                    shared += millis;
                    sharedBeyondIdle += millisBeyondIdle;
                }
            }
            // Unpaced, the engine runs on one thread, so its CPU is its wall time; paced steps sleep, so it is not.
            String beyondEngine = "";
            if (minStepMillis == 0) {
                double engineMillis = measured.stream().mapToDouble(Measured::engineMillis).sum();
                double workerBeyondEngine = perJob.path("worker").asDouble() - engineMillis / jobs;
                perJob.put("workerBeyondEngine", round(workerBeyondEngine));
                beyondEngine = String.format(" (%.1f beyond its engine)", workerBeyondEngine);
            }
            perJob.put("shared", round(shared));
            beyondIdle.put("shared", round(sharedBeyondIdle));
            int progressEvents = measured.stream().mapToInt(m -> m.progressLagsMillis().size()).sum();
            double eventsPerJob = 3 + (double) progressEvents / jobs; // queued, started, the steps', completed
            List<Double> overhead = sorted(measured, m -> m.endToEndMillis() - m.engineMillis());
            List<Double> stepLags = measured.stream().flatMap(m -> m.progressLagsMillis().stream())
                    .map(Long::doubleValue).sorted().toList();
            out.printf("%d jobs of %d steps (at least %d ms each), %d client(s), %d device(s), %.1f s: CPU per job"
                            + " broker %.1f ms, gateway %.1f ms, worker %.1f ms%s, S3 %.1f ms; shared %.1f ms (%.2f ms"
                            + " per event); overhead p50 %.1f ms, p99 %.1f ms%n", jobs, steps, minStepMillis,
                    concurrency, devices, seconds, perJob.path("broker").asDouble(), perJob.path("gateway").asDouble(),
                    perJob.path("worker").asDouble(), beyondEngine, perJob.path("s3").asDouble(), shared,
                    shared / eventsPerJob, BenchE2e.percentile(overhead, 50), BenchE2e.percentile(overhead, 99));
            double submit = BenchE2e.percentile(sorted(measured, Measured::submitMillis), 50);
            double queue = BenchE2e.percentile(sorted(measured, Measured::queueMillis), 50);
            double store = BenchE2e.percentile(sorted(measured, Measured::storeMillis), 50);
            double delivery = BenchE2e.percentile(sorted(measured, Measured::deliveryMillis), 50);
            out.printf("idle, CPU per second (%d s, no jobs): broker %.1f ms, gateway %.1f ms, worker %.1f ms, S3 %.1f"
                            + " ms; per job beyond that: broker %.1f ms, gateway %.1f ms, worker %.1f ms, S3 %.1f ms,"
                            + " shared %.1f ms%n", idleSeconds, idleMillisPerSecond.get("broker"),
                    idleMillisPerSecond.get("gateway"), idleMillisPerSecond.get("worker"),
                    idleMillisPerSecond.get("s3"), beyondIdle.path("broker").asDouble(),
                    beyondIdle.path("gateway").asDouble(), beyondIdle.path("worker").asDouble(),
                    beyondIdle.path("s3").asDouble(), sharedBeyondIdle);
            out.printf("overhead parts, p50: submit answered %.1f ms, submitted to started %.1f ms, results stored %.1f"
                    + " ms, completed to the client %.1f ms%n", submit, queue, store, delivery);
            out.printf("%d progress events (%.1f per job), step to client p50 %.1f ms, p99 %.1f ms%n", progressEvents,
                    (double) progressEvents / jobs, BenchE2e.percentile(stepLags, 50),
                    BenchE2e.percentile(stepLags, 99));
            ObjectNode summary = Json.MAPPER.createObjectNode();
            summary.put("benchmark", "cost");
            summary.put("jobs", jobs);
            summary.put("steps", steps);
            summary.put("minStepMs", minStepMillis);
            summary.put("concurrency", concurrency);
            summary.put("devices", devices);
            summary.put("warmupJobs", warmup);
            summary.put("seconds", round(seconds));
            summary.set("cpuMsPerJob", perJob);
            summary.put("sharedCpuMsPerEvent", round(shared / eventsPerJob));
            ObjectNode idle = Json.MAPPER.createObjectNode();
            idleMillisPerSecond.forEach((name, millis) -> idle.put(name, round(millis)));
            summary.set("idleCpuMsPerSecond", idle);
            summary.set("cpuMsPerJobBeyondIdle", beyondIdle);
            summary.put("engineP50Ms", round(BenchE2e.percentile(sorted(measured, Measured::engineMillis), 50)));
            summary.put("overheadP50Ms", round(BenchE2e.percentile(overhead, 50)));
            summary.put("overheadP99Ms", round(BenchE2e.percentile(overhead, 99)));
            summary.put("submitP50Ms", round(submit));
            summary.put("queueP50Ms", round(queue));
            summary.put("storeP50Ms", round(store));
            summary.put("deliveryP50Ms", round(delivery));
            summary.put("progressEvents", progressEvents);
            summary.put("stepLagP50Ms", round(BenchE2e.percentile(stepLags, 50)));
            summary.put("stepLagP99Ms", round(BenchE2e.percentile(stepLags, 99)));
            out.println(Json.write(summary));
            return 0;
        } finally {
            for (ServiceProcess service : List.of(gateway, worker)) {
                service.stop(Duration.ofSeconds(30));
            }
            bench.stop();
        }
    }

    /**
     * Each process's CPU milliseconds per second over {@code seconds} with no jobs, after a pause for what the last
     * jobs left behind (lingering snapshots, gathered webhook reads, acknowledgements). Zero seconds measures nothing.
     */
    private static Map<String, Double> idleCpu(Map<String, ServiceProcess> processes, int seconds)
            throws InterruptedException {
        Map<String, Double> idle = new LinkedHashMap<>();
        if (seconds == 0) {
            processes.keySet().forEach(name -> idle.put(name, 0.0));
            return idle;
        }
        Thread.sleep(2_000);
        Map<String, Long> before = cpuNanos(processes);
        long start = System.nanoTime();
        Thread.sleep(seconds * 1_000L);
        double elapsedSeconds = (System.nanoTime() - start) / 1e9;
        Map<String, Long> after = cpuNanos(processes);
        processes.keySet().forEach(name -> idle.put(name, (after.get(name) - before.get(name)) / 1e6 / elapsedSeconds));
        return idle;
    }

    /** Each process's CPU time (user and system) so far, in nanoseconds. */
    private static Map<String, Long> cpuNanos(Map<String, ServiceProcess> processes) {
        Map<String, Long> cpu = new LinkedHashMap<>();
        processes.forEach((name, process) -> cpu.put(name, cpuNanos(process)));
        return cpu;
    }

    /** The CPU time {@code process} has used so far, from the OS. */
    static long cpuNanos(ServiceProcess process) {
        return process.process().flatMap(handle -> handle.info().totalCpuDuration()).map(Duration::toNanos)
                .orElseThrow(() -> new IllegalStateException("cannot read the CPU time of " + process.name()));
    }

    /**
     * One job as its client saw it, in milliseconds: end to end, engine, the submit's answer, submitted to started,
     * storing the results, {@code completed} stamped to this client holding it, and each step's event likewise.
     */
    private record Measured(double endToEndMillis, double engineMillis, double submitMillis, double queueMillis,
            double storeMillis, double deliveryMillis, List<Long> progressLagsMillis) {
    }

    private static List<Double> sorted(List<Measured> measured, java.util.function.ToDoubleFunction<Measured> figure) {
        return measured.stream().mapToDouble(figure).sorted().boxed().toList();
    }

    /** Runs {@code count} jobs on {@code concurrency} clients, each submitting its next job once the last completed. */
    private List<Measured> followAll(Gateway server, JobRequest request, int count, int concurrency) throws Exception {
        AtomicInteger remaining = new AtomicInteger(count);
        ConcurrentLinkedQueue<Measured> done = new ConcurrentLinkedQueue<>();
        ExecutorService clients = Executors.newFixedThreadPool(concurrency);
        try {
            List<Future<?>> running = new ArrayList<>();
            for (int c = 0; c < concurrency; c++) {
                running.add(clients.submit(() -> {
                    while (remaining.getAndDecrement() > 0) {
                        long t0 = System.nanoTime();
                        String id = BenchE2e.submit(http, server, request);
                        double submitMillis = (System.nanoTime() - t0) / 1e6;
                        BenchE2e.Followed followed = BenchE2e.follow(http, server, id);
                        long receivedAtMillis = System.currentTimeMillis();
                        JsonNode timings = followed.completed().path("timings");
                        done.add(new Measured((System.nanoTime() - t0) / 1e6, timings.path("engineMillis").asDouble(),
                                submitMillis, timings.path("queueMillis").asDouble(),
                                timings.path("uploadMillis").asDouble(),
                                receivedAtMillis - followed.completed().path("atMillis").asLong(),
                                followed.progressLagsMillis()));
                    }
                    return null;
                }));
            }
            for (Future<?> client : running) {
                client.get();
            }
        } finally {
            clients.shutdown();
        }
        return new ArrayList<>(done);
    }

    private static double round(double value) {
        return Math.round(value * 10) / 10.0;
    }
}
