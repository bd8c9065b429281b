package dev.easel.deploy;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The addresses and options of the standard local stack, saved to {@code stack.properties} by {@code up} so that
 * {@code status}, {@code down} and {@code generate} find it again.
 */
public record StackSettings(int gatewayPort, int kafkaPort, int s3Port, int workerHealthPort, Path modelDir,
        int devices) {

    public static final StackSettings DEFAULTS = new StackSettings(8080, 9092, 9000, 8081, null, 1);

    public String gatewayUrl() {
        return "http://127.0.0.1:" + gatewayPort;
    }

    public String kafkaBootstrap() {
        return "127.0.0.1:" + kafkaPort;
    }

    public String s3Endpoint() {
        return "http://127.0.0.1:" + s3Port;
    }

    /** The services in start order: kafka, s3, worker-1, gateway. */
    public List<ServiceProcess> services(LocalStack stack) {
        return List.of(
                stack.kafka(kafkaPort, kafkaPort + 1),
                stack.s3(s3Port),
                stack.worker(new LocalStack.WorkerSettings("worker-1", kafkaBootstrap(), s3Endpoint(), modelDir,
                        workerHealthPort, Map.of("EASEL_WORKER_DEVICES", Integer.toString(devices)))),
                stack.gateway("gateway", gatewayPort, kafkaBootstrap(), s3Endpoint()));
    }

    public void save(Path home) throws IOException {
        Properties properties = new Properties();
        properties.setProperty("gateway.port", Integer.toString(gatewayPort));
        properties.setProperty("kafka.port", Integer.toString(kafkaPort));
        properties.setProperty("s3.port", Integer.toString(s3Port));
        properties.setProperty("worker.health.port", Integer.toString(workerHealthPort));
        properties.setProperty("model.dir", modelDir.toAbsolutePath().toString());
        properties.setProperty("devices", Integer.toString(devices));
        Files.createDirectories(home);
        try (Writer writer = Files.newBufferedWriter(home.resolve("stack.properties"))) {
            properties.store(writer, "written by easel up");
        }
    }

    /** The saved settings, or the defaults when {@code up} never ran here. */
    public static StackSettings load(Path home) throws IOException {
        Path file = home.resolve("stack.properties");
        if (!Files.isRegularFile(file)) {
            return DEFAULTS;
        }
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file)) {
            properties.load(reader);
        }
        return new StackSettings(
                Integer.parseInt(properties.getProperty("gateway.port", "8080")),
                Integer.parseInt(properties.getProperty("kafka.port", "9092")),
                Integer.parseInt(properties.getProperty("s3.port", "9000")),
                Integer.parseInt(properties.getProperty("worker.health.port", "8081")),
                Path.of(properties.getProperty("model.dir", ".easel/models/toy")),
                Integer.parseInt(properties.getProperty("devices", "1")));
    }
}
