package dev.easel.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.Json;
import dev.easel.deploy.LocalStack;
import dev.easel.deploy.ServiceProcess;
import dev.easel.models.ModelGenerator;
import dev.easel.store.ModelStore;
import java.io.PrintStream;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code easel bench placement}: models that do not all fit, on a stack of its own, with the production placement
 * settings and steps paced to 50 ms (a stand-in for a GPU-bound step). Mixed: three models (the toy model under three
 * ids) on two one-device workers whose budget holds one, a mixed stream of jobs; how many loads it took, how long,
 * and what the devices held. Burst: jobs for the model no device holds, on a pool warm with the other two; when the
 * first started, what a load took, and how many devices the burst spread over. Cold cache: a worker serving a model
 * from the store downloads, verifies and loads it, then starts again from its cache. The last stdout line is one JSON
 * object.
 */
final class BenchPlacement {
    private static final Pattern DOWNLOADED = Pattern.compile("downloaded and verified in (\\d+) ms");
    private static final Pattern LOADED = Pattern.compile("loaded model (\\S+) in (\\d+) ms");

    private final PrintStream out;
    private final PrintStream err;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    BenchPlacement(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int run(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args, java.util.Set.of("jobs", "burst"), java.util.Set.of());
        int jobs = arguments.intValue("jobs", 30);
        int burstJobs = arguments.intValue("burst", 20);
        Path toy = EaselHome.generatedModel(ModelGenerator.Kind.TOY, err);
        BenchStack bench = BenchStack.fresh("bench-placement");
        LocalStack stack = bench.stack();
        List<Path> models = new ArrayList<>();
        for (String id : List.of("model-a", "model-b", "model-c")) {
            Path link = stack.home().resolve("models").resolve(id);
            Files.createDirectories(link.getParent());
            models.add(Files.createSymbolicLink(link, toy.toAbsolutePath()));
        }
        long budgetMb = 6; // the toy model is 3.8 MB as loaded: one fits, two do not
        ServiceProcess gateway = stack.gateway("placement-gateway", LocalStack.freePort(), bench.kafka(), bench.s3(),
                Map.of("easel.default-model", "model-a"));
        List<ServiceProcess> workers = new ArrayList<>();
        for (int i = 1; i <= 2; i++) {
            workers.add(stack.worker(new LocalStack.WorkerSettings("placement-" + i, bench.kafka(), bench.s3(),
                    models, LocalStack.freePort(), Map.of("EASEL_DEVICE_MEMORY_MB", Long.toString(budgetMb),
                    "EASEL_MIN_STEP_MS", "50"))));
        }
        ServiceProcess storeWorker = null;
        try {
            List<ServiceProcess> services = new ArrayList<>(workers);
            services.add(gateway);
            bench.start(err, services.toArray(ServiceProcess[]::new));
            Gateway server = Gateway.withBenchKey(gateway.address(), bench.kafka());

            err.println("mixed: " + jobs + " jobs over three models...");
            int loadsBefore = loads(workers);
            List<String> mixed = new ArrayList<>();
            for (int i = 0; i < jobs; i++) {
                mixed.add("model-" + "abc".charAt(i % 3));
            }
            long mixedStart = System.nanoTime();
            List<BenchE2e.Followed> mixedDone = runAll(server, mixed, 4, 4);
            long mixedMillis = (System.nanoTime() - mixedStart) / 1_000_000;
            int mixedLoads = loads(workers) - loadsBefore;
            double heldMb = maxHeldMb(server, toy);

            // The burst meets a settled pool: no device moved within the minimum residency (EASEL_MIN_RESIDENCY_MS,
            // 10 s), as a pool that serves two models steadily would be.
            Thread.sleep(10_000);
            String cold = coldModel(server);
            err.println("burst: " + burstJobs + " jobs for " + cold + ", which no device holds...");
            List<String> burst = new ArrayList<>();
            for (int i = 0; i < burstJobs; i++) {
                burst.add(cold);
            }
            long burstStart = System.currentTimeMillis();
            List<BenchE2e.Followed> burstDone = runAll(server, burst, burstJobs, 20);
            long firstStart = burstDone.stream().mapToLong(f -> f.started().path("atMillis").asLong()).min()
                    .orElse(0) - burstStart;
            long devicesUsed = burstDone.stream().map(f -> f.started().path("workerId").asText()).distinct().count();
            long loadMillis = lastLoadMillis(workers, cold);

            err.println("cold cache: a worker serving a model from the store...");
            new ModelStore(bench.s3(), LocalStack.S3_ACCESS_KEY, LocalStack.S3_SECRET_KEY, ModelStore.DEFAULT_BUCKET)
                    .push(toy, "model-store");
            Map<String, String> fromStore = Map.of("EASEL_MODEL_DIR", "", "EASEL_STORE_MODELS", "model-store",
                    "EASEL_MODEL_CACHE_DIR", stack.home().resolve("store-cache").toString());
            LocalStack.WorkerSettings storeSettings = new LocalStack.WorkerSettings("placement-store", bench.kafka(),
                    bench.s3(), List.of(), LocalStack.freePort(), fromStore);
            storeWorker = stack.worker(storeSettings);
            long coldStart = System.nanoTime();
            storeWorker.start(BenchStack.START);
            long coldStartMillis = (System.nanoTime() - coldStart) / 1_000_000;
            String log = Files.readString(storeWorker.logFile());
            long downloadMillis = first(DOWNLOADED, log, 1);
            long storeLoadMillis = lastLoadMillis(List.of(storeWorker), "model-store");
            storeWorker.stop(Duration.ofSeconds(30));
            storeWorker = stack.worker(storeSettings);
            long cached = System.nanoTime();
            storeWorker.start(BenchStack.START);
            long cachedStartMillis = (System.nanoTime() - cached) / 1_000_000;

            ObjectNode summary = Json.MAPPER.createObjectNode();
            summary.put("benchmark", "placement");
            ObjectNode mixedNode = summary.putObject("mixed");
            mixedNode.put("jobs", jobs);
            mixedNode.put("completed", mixedDone.size());
            mixedNode.put("loads", mixedLoads);
            mixedNode.put("wallMillis", mixedMillis);
            mixedNode.put("budgetMb", budgetMb);
            mixedNode.put("maxDeviceMemoryMb", Math.round(heldMb * 10) / 10.0);
            ObjectNode burstNode = summary.putObject("burst");
            burstNode.put("jobs", burstJobs);
            burstNode.put("completed", burstDone.size());
            burstNode.put("loadMillis", loadMillis);
            burstNode.put("firstStartMillis", firstStart);
            burstNode.put("devicesUsed", devicesUsed);
            ObjectNode coldCache = summary.putObject("coldCache");
            coldCache.put("downloadMillis", downloadMillis);
            coldCache.put("loadMillis", storeLoadMillis);
            coldCache.put("coldStartMillis", coldStartMillis);
            coldCache.put("cachedStartMillis", cachedStartMillis);
            out.printf("mixed: %d/%d jobs over 3 models on 2 one-model devices in %d ms, %d loads, at most %.1f MB held"
                    + " per device (budget %d MB)%n", mixedDone.size(), jobs, mixedMillis, mixedLoads, heldMb, budgetMb);
            out.printf("burst: %d/%d jobs for a cold model, first started after %d ms, a load takes %d ms, ran on %d"
                    + " devices%n", burstDone.size(), burstJobs, firstStart, loadMillis, devicesUsed);
            out.printf("cold cache: downloaded and verified in %d ms, loaded in %d ms, worker ready in %d ms; from the"
                    + " cache ready in %d ms%n", downloadMillis, storeLoadMillis, coldStartMillis, cachedStartMillis);
            out.println(Json.write(summary));
            return 0;
        } finally {
            if (storeWorker != null) {
                storeWorker.stop(Duration.ofSeconds(30));
            }
            gateway.stop(Duration.ofSeconds(30));
            for (ServiceProcess worker : workers) {
                worker.stop(Duration.ofSeconds(30));
            }
            bench.stop();
        }
    }

    /**
     * Submits a job of {@code steps} per entry of {@code models} from {@code concurrency} clients and follows each to
     * the end.
     */
    private List<BenchE2e.Followed> runAll(Gateway server, List<String> models, int concurrency, int steps)
            throws Exception {
        List<JobRequest> requests = new ArrayList<>();
        for (int i = 0; i < models.size(); i++) {
            requests.add(JobRequest.builder("a green square").model(models.get(i)).size(64, 64).steps(steps)
                    .seed((long) i).build());
        }
        return BenchE2e.followAll(http, server, requests, concurrency);
    }

    /** The model no device takes now, once the workers' announcements say which (the pool holds two of three). */
    private String coldModel(Gateway server) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode models = Json.MAPPER.readTree(http.send(server.request("/v1/models").GET().build(),
                    HttpResponse.BodyHandlers.ofString()).body()).path("models");
            for (JsonNode model : models) {
                if (model.path("placedDevices").asInt() == 0) {
                    return model.path("id").asText();
                }
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("every model kept a device for 30 s after the mixed stream");
    }

    /** Model loads of the workers so far, from their metrics. */
    private int loads(List<ServiceProcess> workers) throws Exception {
        int total = 0;
        for (ServiceProcess worker : workers) {
            String metrics = http.send(HttpRequest.newBuilder(URI.create(worker.address().replace("/health/ready",
                    "/metrics"))).build(), HttpResponse.BodyHandlers.ofString()).body();
            for (String line : metrics.split("\n")) {
                if (line.startsWith("easel_worker_model_loads_total")) {
                    total += (int) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
        }
        return total;
    }

    /** The most a device of the pool holds now, in MB (models held x the toy model's estimate). */
    private double maxHeldMb(Gateway server, Path toy) throws Exception {
        long estimate = 0;
        try (var files = Files.walk(toy)) {
            for (Path file : files.filter(Files::isRegularFile).filter(f -> f.toString().contains(".onnx")).toList()) {
                estimate += Files.size(file);
            }
        }
        JsonNode workers = Json.MAPPER.readTree(http.send(server.request("/v1/workers").GET().build(),
                HttpResponse.BodyHandlers.ofString()).body()).path("workers");
        double most = 0;
        for (JsonNode worker : workers) {
            int held = 0;
            for (JsonNode count : worker.path("warmDevices")) {
                held += count.asInt();
            }
            most = Math.max(most, held * estimate * 1.2 / (1024 * 1024) / Math.max(1, worker.path("devices").asInt()));
        }
        return most;
    }

    /** How long the workers' last load of {@code model} took, from their logs (0 when none loaded it). */
    private static long lastLoadMillis(List<ServiceProcess> workers, String model) throws Exception {
        long millis = 0;
        for (ServiceProcess worker : workers) {
            Matcher matcher = LOADED.matcher(Files.readString(worker.logFile()));
            while (matcher.find()) {
                if (matcher.group(1).equals(model)) {
                    millis = Long.parseLong(matcher.group(2));
                }
            }
        }
        return millis;
    }

    private static long first(Pattern pattern, String text, int group) {
        Matcher matcher = pattern.matcher(text);
        return matcher.find() ? Long.parseLong(matcher.group(group)) : -1;
    }
}
