package dev.easel.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.contracts.EventStream;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.Json;
import dev.easel.deploy.LocalStack;
import dev.easel.deploy.ServiceProcess;
import dev.easel.models.ModelGenerator;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * {@code easel bench streams}: many clients following jobs' SSE streams on one gateway, on a stack of its own. Submits
 * {@code jobs} jobs (toy model, 64 x 64, {@code steps} steps held to {@code EASEL_MIN_STEP_MS} 100 ms each, one
 * worker of {@code devices} devices) and opens {@code streams} SSE streams spread evenly over them at once, each on its
 * own connection, then reads every stream to its end. Checks that every stream got every event of its job in order
 * (queued, started, one progress per step, completed, ids increasing), and reports how late live events arrived (the
 * client's clock less the event's {@code atMillis}: one machine, one clock), the gateway's CPU and the wall time. The
 * last stdout line is one JSON object.
 */
final class BenchStreams {

    private final PrintStream out;
    private final PrintStream err;

    BenchStreams(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /**
     * What one stream received: its events in order, when it opened, and each live event's stamp and lag behind it
     * (pairs: stamp, lag).
     */
    private record Received(int events, boolean inOrder, boolean complete, long openedAtMillis, List<long[]> lags,
            String problem) {
    }

    int run(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args, java.util.Set.of("streams", "jobs", "steps", "devices"),
                java.util.Set.of());
        int streams = arguments.intValue("streams", 5000);
        int jobs = arguments.intValue("jobs", 50);
        int steps = arguments.intValue("steps", 10);
        int devices = arguments.intValue("devices", 2);
        if (streams < jobs || jobs < 1) {
            throw new UsageException("--streams must be at least --jobs, and --jobs at least 1");
        }
        Path model = EaselHome.generatedModel(ModelGenerator.Kind.TOY, err);
        BenchStack bench = BenchStack.fresh("bench-streams");
        LocalStack stack = bench.stack();
        ServiceProcess gateway = stack.gateway("streams-gateway", LocalStack.freePort(), bench.kafka(), bench.s3());
        ServiceProcess worker = stack.worker(new LocalStack.WorkerSettings("streams-worker", bench.kafka(), bench.s3(),
                List.of(model), LocalStack.freePort(), Map.of("EASEL_WORKER_DEVICES", Integer.toString(devices),
                        "EASEL_MIN_STEP_MS", "100", "EASEL_INTRA_OP_THREADS", "1")));
        // One connection per stream (HTTP/1.1), as browsers and most SSE clients hold them.
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(30)).build();
        try (ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor()) {
            bench.start(err, worker, gateway);
            Gateway server = Gateway.withBenchKey(gateway.address(), bench.kafka());
            JobRequest request = JobRequest.builder("a red circle on a blue background").size(64, 64).steps(steps)
                    .scheduler("euler").seed(3L).build();
            BenchE2e.followAll(http, server, List.of(request, request), 2); // warm-up

            long cpuBefore = BenchCost.cpuNanos(gateway);
            long start = System.nanoTime();
            long startMillis = System.currentTimeMillis();
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < jobs; i++) {
                ids.add(BenchE2e.submit(http, server, request));
            }
            err.println("submitted " + jobs + " jobs; opening " + streams + " streams...");
            AtomicInteger open = new AtomicInteger();
            List<Future<Received>> followed = new ArrayList<>();
            for (int s = 0; s < streams; s++) {
                String id = ids.get(s % jobs);
                followed.add(readers.submit(() -> follow(http, server, id, steps, open)));
            }
            List<Received> received = new ArrayList<>();
            for (Future<Received> stream : followed) {
                received.add(stream.get(30, TimeUnit.MINUTES));
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double gatewayCpuSeconds = (BenchCost.cpuNanos(gateway) - cpuBefore) / 1e9;

            // Lag over every live event, and over those stamped once all streams were open (the connections' opening
            // burst competes for the same two cores).
            long allOpenMillis = received.stream().mapToLong(Received::openedAtMillis).max().orElse(0);
            List<Long> lags = new ArrayList<>();
            List<Long> steady = new ArrayList<>();
            for (Received stream : received) {
                for (long[] lag : stream.lags()) {
                    lags.add(lag[1]);
                    if (lag[0] >= allOpenMillis) {
                        steady.add(lag[1]);
                    }
                }
            }
            Collections.sort(lags);
            Collections.sort(steady);
            double openSeconds = (allOpenMillis - startMillis) / 1e3;
            long complete = received.stream().filter(Received::complete).count();
            long inOrder = received.stream().filter(Received::inOrder).count();
            long events = received.stream().mapToLong(Received::events).sum();
            received.stream().map(Received::problem).filter(p -> p != null).distinct().limit(5)
                    .forEach(p -> err.println("problem: " + p));
            double p50 = percentile(lags, 50);
            double p99 = percentile(lags, 99);
            long max = lags.isEmpty() ? 0 : lags.getLast();
            out.printf("%d streams over %d jobs (%d steps, %d devices) in %.1f s (all open after %.1f s): %d complete, %d"
                            + " in order, %d events; live events late by p50 %.0f ms, p99 %.0f ms, max %d ms; once all"
                            + " were open p50 %.0f ms, p99 %.0f ms; gateway CPU %.1f s (%.0f %% of a core)%n", streams,
                    jobs, steps, devices, seconds, openSeconds, complete, inOrder, events, p50, p99, max,
                    percentile(steady, 50), percentile(steady, 99), gatewayCpuSeconds,
                    100 * gatewayCpuSeconds / seconds);
            ObjectNode summary = Json.MAPPER.createObjectNode();
            summary.put("benchmark", "streams");
            summary.put("streams", streams);
            summary.put("jobs", jobs);
            summary.put("steps", steps);
            summary.put("devices", devices);
            summary.put("seconds", Math.round(seconds * 10) / 10.0);
            summary.put("completeStreams", complete);
            summary.put("inOrderStreams", inOrder);
            summary.put("events", events);
            summary.put("lagP50Ms", p50);
            summary.put("lagP99Ms", p99);
            summary.put("lagMaxMs", max);
            summary.put("allOpenSeconds", Math.round(openSeconds * 10) / 10.0);
            summary.put("steadyLagP50Ms", percentile(steady, 50));
            summary.put("steadyLagP99Ms", percentile(steady, 99));
            summary.put("gatewayCpuSeconds", Math.round(gatewayCpuSeconds * 10) / 10.0);
            out.println(Json.write(summary));
            return complete == streams && inOrder == streams ? 0 : 1;
        } finally {
            for (ServiceProcess service : List.of(gateway, worker)) {
                service.stop(Duration.ofSeconds(30));
            }
            bench.stop();
        }
    }

    /**
     * Reads one job's stream to its end: queued, started, progress 1..steps, completed, ids increasing. Lag is counted
     * for the events stamped after the stream opened (earlier ones are replayed history).
     */
    private static Received follow(HttpClient http, Gateway server, String id, int steps, AtomicInteger open)
            throws IOException, InterruptedException {
        HttpResponse<Stream<String>> response = http.send(server.request("/v1/jobs/" + id + "/events").GET().build(),
                HttpResponse.BodyHandlers.ofLines());
        long openedAtMillis = System.currentTimeMillis();
        open.incrementAndGet();
        if (response.statusCode() != 200) {
            return new Received(0, false, false, openedAtMillis, List.of(), "HTTP " + response.statusCode()
                    + " for job " + id);
        }
        List<long[]> lags = new ArrayList<>();
        List<String> names = new ArrayList<>();
        int[] progress = {0};
        long[] lastId = {-1};
        boolean[] inOrder = {true};
        try (Stream<String> lines = response.body()) {
            EventStream.read(lines.iterator(), event -> {
                long receivedAtMillis = System.currentTimeMillis();
                names.add(event.name());
                long eventId = event.id() == null ? -1 : Long.parseLong(event.id());
                inOrder[0] &= eventId > lastId[0];
                lastId[0] = eventId;
                if (event.name().equals("progress")) {
                    inOrder[0] &= event.data().path("step").asInt() == ++progress[0];
                }
                long stamped = event.data().path("atMillis").asLong();
                if (stamped >= openedAtMillis) {
                    lags.add(new long[] {stamped, receivedAtMillis - stamped});
                }
                return !List.of("completed", "failed", "cancelled").contains(event.name());
            });
        }
        boolean complete = names.size() == steps + 3 && names.getFirst().equals("queued")
                && names.get(1).equals("started") && names.getLast().equals("completed");
        return new Received(names.size(), inOrder[0], complete, openedAtMillis, lags, complete && inOrder[0] ? null
                : "job " + id + " stream: " + names);
    }

    private static double percentile(List<Long> sorted, int percent) {
        return sorted.isEmpty() ? 0 : BenchE2e.percentile(sorted.stream().map(Long::doubleValue).toList(), percent);
    }
}
