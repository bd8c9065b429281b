package dev.easel.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.EventStream;
import dev.easel.contracts.Json;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * {@code easel bench e2e}: the service on the local stack with the toy model. After {@code warmup} jobs one at a time
 * (until the JIT compilers are done with the job path, whose work would count otherwise), a closed loop of
 * {@code concurrency} clients runs {@code jobs} jobs (submit, follow SSE to completed) and reports submit latency, end-to-end latency,
 * the worker's engine time and the system overhead (end-to-end minus engine time); then an open loop submits at a
 * fixed request rate and reports submit latency. The last stdout line is one JSON object.
 */
final class BenchE2e {
    /**
     * Jobs run before a measurement, by default (here and in {@code bench cost}). Code that runs once or a few times
     * per job (a submit, an upload, a share fetch) reaches the JIT's top tier only after thousands of calls: on two
     * shared cores a fresh stack's overhead per job was still falling after 2,000 jobs (docs/benchmarks.md).
     */
    static final int WARMUP_JOBS = 3000;
    private final PrintStream out;
    // HTTP/1.1 opens a connection per concurrent request, as many independent clients would; Java's default h2c
    // upgrade would multiplex every request over one connection and so onto one gateway event-loop thread.
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    BenchE2e(PrintStream out) {
        this.out = out;
    }

    /**
     * One job as the client saw it, and where its overhead went (from the events' clocks, all on this machine):
     * {@code queueMillis} submit to {@code started}, {@code uploadMillis} storing the images, {@code deliveryMillis}
     * from {@code completed} being stamped (images stored) to this client receiving it: the final record, the event's
     * acknowledgement, the gateway's read and SSE.
     */
    private record JobTiming(double submitMillis, double endToEndMillis, double engineMillis, double queueMillis,
            double uploadMillis, double deliveryMillis) {
        double overheadMillis() {
            return endToEndMillis - engineMillis;
        }
    }

    ObjectNode run(Gateway server, int jobs, int concurrency, int rate, int rateSeconds, int warmup,
            JobRequest request) throws Exception {
        for (int i = 0; i < warmup; i++) {
            runJob(server, request);
        }
        AtomicInteger remaining = new AtomicInteger(jobs);
        ConcurrentLinkedQueue<JobTiming> timings = new ConcurrentLinkedQueue<>();
        ExecutorService clients = Executors.newFixedThreadPool(concurrency);
        long start = System.nanoTime();
        List<Future<?>> running = new ArrayList<>();
        for (int c = 0; c < concurrency; c++) {
            running.add(clients.submit(() -> {
                while (remaining.getAndDecrement() > 0) {
                    timings.add(runJob(server, request));
                }
                return null;
            }));
        }
        for (Future<?> client : running) {
            client.get();
        }
        double wallSeconds = (System.nanoTime() - start) / 1e9;
        clients.shutdown();

        // The open loop measures the gateway: its jobs are the cheapest there are, so that draining them competes
        // as little as possible for the CPU the gateway needs.
        JobRequest cheapest = JobRequest.builder(request.prompt()).size(64, 64).steps(1).guidanceScale(1.0)
                .scheduler("euler").seed(1L).build();
        List<Double> rateSubmits = submitAtRate(server, rate, rateSeconds, cheapest);
        List<Double> submit = timings.stream().map(JobTiming::submitMillis).sorted().toList();
        List<Double> endToEnd = timings.stream().map(JobTiming::endToEndMillis).sorted().toList();
        List<Double> engine = timings.stream().map(JobTiming::engineMillis).sorted().toList();
        List<Double> overhead = timings.stream().map(JobTiming::overheadMillis).sorted().toList();
        List<Double> queue = timings.stream().map(JobTiming::queueMillis).sorted().toList();
        List<Double> upload = timings.stream().map(JobTiming::uploadMillis).sorted().toList();
        List<Double> delivery = timings.stream().map(JobTiming::deliveryMillis).sorted().toList();
        ObjectNode summary = Json.MAPPER.createObjectNode();
        summary.put("benchmark", "e2e");
        summary.put("jobs", jobs);
        summary.put("concurrency", concurrency);
        summary.put("steps", request.steps());
        summary.put("size", request.width() + "x" + request.height());
        summary.put("submitP50Ms", round(percentile(submit, 50)));
        summary.put("submitP99Ms", round(percentile(submit, 99)));
        summary.put("endToEndP50Ms", round(percentile(endToEnd, 50)));
        summary.put("endToEndP99Ms", round(percentile(endToEnd, 99)));
        summary.put("engineP50Ms", round(percentile(engine, 50)));
        summary.put("overheadP50Ms", round(percentile(overhead, 50)));
        summary.put("overheadP99Ms", round(percentile(overhead, 99)));
        summary.put("queueP50Ms", round(percentile(queue, 50)));
        summary.put("uploadP50Ms", round(percentile(upload, 50)));
        summary.put("deliveryP50Ms", round(percentile(delivery, 50)));
        summary.put("throughputJobsPerSecond", round(jobs / wallSeconds));
        summary.put("rateRequestsPerSecond", rate);
        summary.put("rateSubmitted", rateSubmits.size());
        summary.put("rateSubmitP50Ms", round(percentile(rateSubmits, 50)));
        summary.put("rateSubmitP99Ms", round(percentile(rateSubmits, 99)));
        return summary;
    }

    private JobTiming runJob(Gateway server, JobRequest request) throws Exception {
        long t0 = System.nanoTime();
        String id = submit(server, request);
        double submitted = (System.nanoTime() - t0) / 1e6;
        JsonNode completed = awaitCompleted(server, id);
        long receivedAtMillis = System.currentTimeMillis();
        double endToEnd = (System.nanoTime() - t0) / 1e6;
        JsonNode timings = completed.path("timings");
        return new JobTiming(submitted, endToEnd, timings.path("engineMillis").asDouble(),
                timings.path("queueMillis").asDouble(), timings.path("uploadMillis").asDouble(),
                receivedAtMillis - completed.path("atMillis").asLong());
    }

    private String submit(Gateway server, JobRequest request) throws IOException, InterruptedException {
        return submit(http, server, request);
    }

    /**
     * Submits {@code request}; a 503 (the broker did not acknowledge in time: nothing was queued, as when thousands of
     * jobs are submitted at once on two cores) is submitted again after a pause, for up to a minute, as the API asks.
     */
    static String submit(HttpClient http, Gateway server, JobRequest request) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        HttpRequest post = server.request("/v1/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(Json.write(request))).build();
        HttpResponse<String> response = send(http, post, HttpResponse.BodyHandlers.ofString(), deadline);
        while (response.statusCode() == 503 && System.nanoTime() < deadline) {
            Thread.sleep(250);
            response = send(http, post, HttpResponse.BodyHandlers.ofString(), deadline);
        }
        if (response.statusCode() != 202) {
            throw new IOException("submit failed: HTTP " + response.statusCode() + " " + response.body());
        }
        return Json.MAPPER.readTree(response.body()).path("id").asText();
    }

    private JsonNode awaitCompleted(Gateway server, String id) throws IOException, InterruptedException {
        return follow(http, server, id).completed();
    }

    /**
     * A finished job's last {@code started} event, its {@code completed} event, and for each {@code progress} event how
     * long after it was stamped this client held it (one machine, one clock).
     */
    record Followed(JsonNode started, JsonNode completed, List<Long> progressLagsMillis) {
    }

    /** Submits every request from {@code concurrency} clients and follows each job to completion, in order. */
    static List<Followed> followAll(HttpClient http, Gateway server, List<JobRequest> requests, int concurrency)
            throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(concurrency);
        try {
            List<Future<Followed>> running = new ArrayList<>();
            for (JobRequest request : requests) {
                running.add(clients.submit(() -> follow(http, server, submit(http, server, request))));
            }
            List<Followed> done = new ArrayList<>();
            for (Future<Followed> job : running) {
                done.add(job.get());
            }
            return done;
        } finally {
            clients.shutdown();
        }
    }

    /**
     * Sends {@code request}, again after a pause while the connection cannot be made (thousands of clients connecting
     * at once to a gateway on two shared cores), until {@code deadlineNanos}: a request that never connected was never
     * sent, so sending it again repeats nothing.
     */
    private static <T> HttpResponse<T> send(HttpClient http, HttpRequest request, HttpResponse.BodyHandler<T> body,
            long deadlineNanos) throws IOException, InterruptedException {
        while (true) {
            try {
                return http.send(request, body);
            } catch (java.net.http.HttpConnectTimeoutException e) {
                if (System.nanoTime() > deadlineNanos) {
                    throw e;
                }
                Thread.sleep(250);
            }
        }
    }

    /** Follows the job's SSE stream to its end; fails unless it completed. */
    static Followed follow(HttpClient http, Gateway server, String id) throws IOException, InterruptedException {
        HttpResponse<Stream<String>> response = send(http, server.request("/v1/jobs/" + id + "/events").GET().build(),
                HttpResponse.BodyHandlers.ofLines(), System.nanoTime() + TimeUnit.MINUTES.toNanos(1));
        JsonNode[] started = new JsonNode[1];
        Followed[] followed = new Followed[1];
        List<Long> progressLags = new ArrayList<>();
        String[] ended = new String[1];
        try (Stream<String> lines = response.body()) {
            EventStream.read(lines.iterator(), event -> {
                switch (event.name()) {
                    case "started" -> started[0] = event.data();
                    case "progress" -> progressLags.add(System.currentTimeMillis()
                            - event.data().path("atMillis").asLong());
                    case "completed" -> followed[0] = new Followed(started[0], event.data(), progressLags);
                    case "failed", "cancelled" -> ended[0] = event.name() + ": " + event.data();
                    default -> {
                        return true;
                    }
                }
                return followed[0] == null && ended[0] == null;
            });
        }
        if (followed[0] != null) {
            return followed[0];
        }
        if (ended[0] != null) {
            throw new IOException("job " + id + " ended " + ended[0]);
        }
        throw new IOException("the event stream of job " + id + " ended without completion");
    }

    /** Submits at a fixed rate for {@code seconds}; returns each submit's latency. Waits for the jobs to drain. */
    private List<Double> submitAtRate(Gateway server, int rate, int seconds, JobRequest request) throws Exception {
        List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
        List<String> ids = Collections.synchronizedList(new ArrayList<>());
        if (rate <= 0 || seconds <= 0) {
            return latencies;
        }
        ScheduledExecutorService timer = Executors.newScheduledThreadPool(1);
        ExecutorService senders = Executors.newFixedThreadPool(32);
        long periodNanos = 1_000_000_000L / rate;
        int total = rate * seconds;
        AtomicInteger sent = new AtomicInteger();
        timer.scheduleAtFixedRate(() -> {
            if (sent.getAndIncrement() >= total) {
                return;
            }
            senders.submit(() -> {
                long t0 = System.nanoTime();
                ids.add(submit(server, request));
                latencies.add((System.nanoTime() - t0) / 1e6);
                return null;
            });
        }, 0, periodNanos, TimeUnit.NANOSECONDS);
        while (sent.get() < total) {
            Thread.sleep(50);
        }
        timer.shutdown();
        senders.shutdown();
        senders.awaitTermination(60, TimeUnit.SECONDS);
        if (!ids.isEmpty()) {
            awaitCompleted(server, ids.get(ids.size() - 1));
        }
        List<Double> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        return sorted;
    }

    static double percentile(List<Double> sorted, int percent) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int index = (int) Math.ceil(percent / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }

    static double round(double value) {
        return Math.round(value * 10) / 10.0;
    }
}
