package dev.easel.deploy;

import java.io.File;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The addresses and options of the standard local stack, saved to {@code stack.properties} by {@code up} (and
 * {@code worker add}) so that {@code status}, {@code down} and {@code generate} find it again. Workers are named
 * worker-1, worker-2, ...; each serves its own list of model folders.
 */
public record StackSettings(int gatewayPort, int kafkaPort, int s3Port, List<StackWorker> workers, int devices) {

    /** One worker of the stack: its name, health port and the model folders it serves. */
    public record StackWorker(String name, int healthPort, List<Path> modelDirs) {
        public StackWorker {
            modelDirs = List.copyOf(modelDirs);
        }
    }

    public static final int DEFAULT_WORKER_PORT = 8081;
    public static final StackSettings DEFAULTS = new StackSettings(8080, 9092, 9000, List.of(), 1);

    public StackSettings {
        workers = List.copyOf(workers);
    }

    /** {@code count} workers on consecutive health ports from {@code firstHealthPort}, all serving {@code modelDirs}. */
    public static List<StackWorker> workers(int count, int firstHealthPort, List<Path> modelDirs) {
        List<StackWorker> workers = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            workers.add(new StackWorker("worker-" + (i + 1), firstHealthPort + i, modelDirs));
        }
        return workers;
    }

    /** The settings with one more worker serving {@code modelDirs}, on the next free name and health port. */
    public StackSettings withWorker(List<Path> modelDirs) {
        int next = workers.size() + 1;
        int port = workers.stream().mapToInt(StackWorker::healthPort).max().orElse(DEFAULT_WORKER_PORT - 1) + 1;
        List<StackWorker> more = new ArrayList<>(workers);
        more.add(new StackWorker("worker-" + next, port, modelDirs));
        return new StackSettings(gatewayPort, kafkaPort, s3Port, more, devices);
    }

    public String gatewayUrl() {
        return "http://127.0.0.1:" + gatewayPort;
    }

    public String kafkaBootstrap() {
        return "127.0.0.1:" + kafkaPort;
    }

    public String s3Endpoint() {
        return "http://127.0.0.1:" + s3Port;
    }

    /**
     * A worker of the local stack: its model folders, plus every model in the stack's model store ({@code ./easel models
     * push}), cached under the stack's home per worker.
     */
    public ServiceProcess worker(LocalStack stack, StackWorker worker) {
        return stack.worker(new LocalStack.WorkerSettings(worker.name(), kafkaBootstrap(), s3Endpoint(),
                worker.modelDirs(), worker.healthPort(), Map.of("EASEL_WORKER_DEVICES", Integer.toString(devices),
                        "EASEL_STORE_MODELS", "all",
                        "EASEL_MODEL_CACHE_DIR", stack.home().resolve("model-cache").resolve(worker.name())
                                .toAbsolutePath().toString())));
    }

    /** The services in start order: kafka, s3, the workers, gateway. */
    public List<ServiceProcess> services(LocalStack stack) {
        List<ServiceProcess> services = new ArrayList<>();
        services.add(stack.kafka(kafkaPort, kafkaPort + 1));
        services.add(stack.s3(s3Port));
        workers.forEach(worker -> services.add(worker(stack, worker)));
        services.add(stack.gateway("gateway", gatewayPort, kafkaBootstrap(), s3Endpoint()));
        return services;
    }

    public void save(Path home) throws IOException {
        Properties properties = new Properties();
        properties.setProperty("gateway.port", Integer.toString(gatewayPort));
        properties.setProperty("kafka.port", Integer.toString(kafkaPort));
        properties.setProperty("s3.port", Integer.toString(s3Port));
        properties.setProperty("devices", Integer.toString(devices));
        properties.setProperty("workers", Integer.toString(workers.size()));
        for (int i = 0; i < workers.size(); i++) {
            StackWorker worker = workers.get(i);
            properties.setProperty("worker." + (i + 1) + ".health.port", Integer.toString(worker.healthPort()));
            properties.setProperty("worker." + (i + 1) + ".models", String.join(File.pathSeparator,
                    worker.modelDirs().stream().map(dir -> dir.toAbsolutePath().toString()).toList()));
        }
        Files.createDirectories(home);
        try (Writer writer = Files.newBufferedWriter(home.resolve("stack.properties"))) {
            properties.store(writer, "written by easel up");
        }
    }

    /** The saved settings, or the defaults (no workers yet) when {@code up} never ran here. */
    public static StackSettings load(Path home) throws IOException {
        Path file = home.resolve("stack.properties");
        if (!Files.isRegularFile(file)) {
            return DEFAULTS;
        }
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file)) {
            properties.load(reader);
        }
        List<StackWorker> workers = new ArrayList<>();
        int count = Integer.parseInt(properties.getProperty("workers", "0"));
        for (int i = 1; i <= count; i++) {
            workers.add(new StackWorker("worker-" + i,
                    Integer.parseInt(properties.getProperty("worker." + i + ".health.port",
                            Integer.toString(DEFAULT_WORKER_PORT + i - 1))),
                    Arrays.stream(properties.getProperty("worker." + i + ".models", "").split(File.pathSeparator))
                            .filter(dir -> !dir.isBlank()).map(Path::of).toList()));
        }
        return new StackSettings(
                Integer.parseInt(properties.getProperty("gateway.port", "8080")),
                Integer.parseInt(properties.getProperty("kafka.port", "9092")),
                Integer.parseInt(properties.getProperty("s3.port", "9000")),
                workers,
                Integer.parseInt(properties.getProperty("devices", "1")));
    }
}
