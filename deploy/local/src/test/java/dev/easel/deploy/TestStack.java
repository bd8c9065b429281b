package dev.easel.deploy;

import dev.easel.models.ModelGenerator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The one way the tests start a stack: a fresh state folder ({@code target/<name>-home}), the toy model, a Kafka broker
 * and an S3 server on free ports, then the workers and gateways a test class asks for, each started as
 * {@code ./easel up} starts it and waited for; {@link #stopAll} stops them in reverse order.
 */
final class TestStack {
    private static final Duration START = Duration.ofSeconds(180);
    /** The tests' gateways: their long jobs are huge toy-model pictures, far over the default per-job cost cap. */
    static final Map<String, String> GATEWAY_SETTINGS = Map.of("easel.limits.max-pixel-steps", "1000000000000");

    private final List<ServiceProcess> started = new ArrayList<>();
    private final LocalStack local;
    private final Path home;
    private final Path toyModel;
    private final String kafka;
    private final String s3;
    private final ServiceProcess broker;
    private final ServiceProcess s3Server;

    private TestStack(String name) throws Exception {
        Path root = Path.of(System.getProperty("easel.root", "../.."));
        home = fresh(Path.of("target/" + name + "-home"));
        local = new LocalStack(root, home);
        toyModel = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.TOY), home.resolve("models/toy"));
        int kafkaPort = LocalStack.freePort();
        int s3Port = LocalStack.freePort();
        kafka = "127.0.0.1:" + kafkaPort;
        s3 = "http://127.0.0.1:" + s3Port;
        broker = start(local.kafka(kafkaPort, LocalStack.freePort()));
        s3Server = start(local.s3(s3Port));
    }

    /** A broker and an S3 server for the test class {@code name}, with a fresh toy model. */
    static TestStack start(String name) throws Exception {
        return new TestStack(name);
    }

    /** Starts a worker serving the toy model with {@code environment} added to its settings. */
    ServiceProcess worker(String id, Map<String, String> environment) throws Exception {
        return worker(id, List.of(toyModel), environment);
    }

    /** Starts a worker serving {@code models}. */
    ServiceProcess worker(String id, List<Path> models, Map<String, String> environment) throws Exception {
        return start(local.worker(new LocalStack.WorkerSettings(id, kafka, s3, models, LocalStack.freePort(),
                environment)));
    }

    /**
     * A model folder named {@code id} (its model id) in the stack's home, linked to {@code folder} (a fixture in
     * ../shared whose own folder name is not the id the test wants).
     */
    Path linkedModel(String id, Path folder) throws IOException {
        Path link = home.resolve("models").resolve(id);
        Files.deleteIfExists(link);
        Files.createDirectories(link.getParent());
        return Files.createSymbolicLink(link, folder.toAbsolutePath());
    }

    /** Starts a gateway with the tests' settings plus {@code settings}. */
    ServiceProcess gateway(String id, Map<String, String> settings) throws Exception {
        Map<String, String> all = new HashMap<>(GATEWAY_SETTINGS);
        all.putAll(settings);
        return start(local.gateway(id, LocalStack.freePort(), kafka, s3, all));
    }

    /** Starts {@code service} (again, if it was started before) and waits until it is ready. */
    ServiceProcess start(ServiceProcess service) throws Exception {
        if (!started.contains(service)) {
            started.add(service);
        }
        service.start(START);
        return service;
    }

    /** Stops {@code service} (SIGTERM, then SIGKILL after the grace period) and forgets it. */
    void stop(ServiceProcess service, Duration grace) throws InterruptedException {
        service.stop(grace);
        started.remove(service);
    }

    void stopAll() throws InterruptedException {
        for (int i = started.size() - 1; i >= 0; i--) {
            started.get(i).stop(Duration.ofSeconds(20));
        }
        started.clear();
    }

    /** SIGKILL: the process gets no chance to clean up. */
    static void kill(ServiceProcess service) {
        ProcessHandle process = service.process().orElseThrow();
        process.destroyForcibly();
        process.onExit().join();
    }

    Path home() {
        return home;
    }

    Path toyModel() {
        return toyModel;
    }

    /** The generated tiny image upscaler (ESRGAN family, 4 times), written on first use; its model id is esrgan. */
    synchronized Path esrganModel() throws IOException {
        Path folder = home.resolve("models/esrgan");
        if (!Files.isRegularFile(folder.resolve("model.onnx"))) {
            ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.ESRGAN), folder);
        }
        return folder;
    }

    /** The broker's address, host:port. */
    String kafka() {
        return kafka;
    }

    /** The S3 server's URL. */
    String s3() {
        return s3;
    }

    ServiceProcess broker() {
        return broker;
    }

    ServiceProcess s3Server() {
        return s3Server;
    }

    /** {@code dir} emptied: a fresh broker, bucket and model every run. */
    private static Path fresh(Path dir) throws IOException {
        Path absolute = dir.toAbsolutePath();
        if (Files.exists(absolute)) {
            try (Stream<Path> paths = Files.walk(absolute)) {
                for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(path);
                }
            }
        }
        return absolute;
    }
}
