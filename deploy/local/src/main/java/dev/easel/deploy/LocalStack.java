package dev.easel.deploy;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The local stack: a single-node Kafka broker (KRaft) from the Maven-served jars, s3proxy as the S3-protocol server
 * (files under {@code .easel/s3}), workers and gateways. {@code ./easel up} and the end-to-end tests both use it.
 * Production uses real MinIO (see deploy/).
 */
public final class LocalStack {
    public static final String S3_ACCESS_KEY = "easel";
    public static final String S3_SECRET_KEY = "easel-secret";

    private final Path root;
    private final Path home;
    private final String java;

    /** {@code root}: the Easel checkout (built); {@code home}: where state, logs and pids go. */
    public LocalStack(Path root, Path home) {
        this.root = root.toAbsolutePath().normalize();
        this.home = home.toAbsolutePath().normalize();
        this.java = ProcessHandle.current().info().command().orElse("java");
    }

    /** A free TCP port on the loopback interface. */
    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The Kafka broker on {@code port}, its controller on {@code controllerPort}; data in {@code kafka/}. */
    public ServiceProcess kafka(int port, int controllerPort) {
        Path dir = home.resolve("kafka");
        Path config = dir.resolve("server.properties");
        Path libs = requireBuilt(root.resolve("deploy/local/target/kafka-lib"), "the Kafka broker jars");
        String classPath = libs + "/*";
        Runnable prepare = () -> {
            try {
                Files.createDirectories(dir);
                Files.writeString(config, kafkaConfig(dir.resolve("data"), port, controllerPort));
                if (!Files.isRegularFile(dir.resolve("data/meta.properties"))) {
                    // --cluster-id=ID: a base64 id may start with '-' and would otherwise read as an option.
                    run(List.of(java, "-cp", classPath, "kafka.tools.StorageTool", "format",
                            "--cluster-id=" + clusterId(dir), "--config=" + config, "--ignore-formatted"),
                            dir.resolve("format.log"));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
        ServiceProcess[] self = new ServiceProcess[1];
        self[0] = new ServiceProcess("kafka", "127.0.0.1:" + port,
                List.of(java, "-Xmx512m", "-Dlog4j2.level=WARN", "-cp", classPath, "kafka.Kafka", config.toString()),
                Map.of(), root, home,
                () -> Probes.portOpen(port) && Probes.logContains(self[0].logFile(), "Kafka Server started"), prepare,
                List.of(port, controllerPort));
        return self[0];
    }

    private static String kafkaConfig(Path data, int port, int controllerPort) {
        return String.join("\n",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "log.dirs=" + data,
                "num.partitions=4",
                "auto.create.topics.enable=true",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=4",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                // Share groups (the job queues): production keeps the 15 s floor; locally tests may use shorter locks.
                "group.share.min.record.lock.duration.ms=2000",
                // A worker's placement moves a device to another model's queue by resubscribing; the share group hands
                // it the queue at the member's next heartbeat (Kafka's default: every 5 s) once it has recomputed the
                // assignment (at most once a second by default).
                "group.share.min.heartbeat.interval.ms=1000",
                "group.share.heartbeat.interval.ms=1000",
                "group.share.assignment.interval.ms=100",
                "log.retention.hours=168",
                "") ;
    }

    private static String clusterId(Path dir) throws IOException {
        Path file = dir.resolve("cluster.id");
        if (Files.isRegularFile(file)) {
            return Files.readString(file).strip();
        }
        UUID uuid = UUID.randomUUID();
        ByteBuffer bytes = ByteBuffer.allocate(16).putLong(uuid.getMostSignificantBits())
                .putLong(uuid.getLeastSignificantBits());
        String id = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes.array());
        Files.writeString(file, id);
        return id;
    }

    private static void run(List<String> command, Path log) throws IOException {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.to(log.toFile())).start();
            if (process.waitFor() != 0) {
                throw new IOException(String.join(" ", command) + " failed; see " + log + ":\n" + Files.readString(log));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** The stack's home folder (logs, the broker's and the S3 server's data, caches). */
    public Path home() {
        return home;
    }

    /** s3proxy on {@code port}, storing objects as files under {@code s3/}. */
    public ServiceProcess s3(int port) {
        Path dir = home.resolve("s3");
        Path config = home.resolve("s3proxy.properties");
        Path jar = requireBuilt(root.resolve("deploy/local/target/s3proxy/s3proxy.jar"), "the s3proxy jar");
        Runnable prepare = () -> {
            try {
                Files.createDirectories(dir);
                Files.writeString(config, String.join("\n",
                        "s3proxy.endpoint=http://127.0.0.1:" + port,
                        "s3proxy.authorization=aws-v2-or-v4",
                        "s3proxy.identity=" + S3_ACCESS_KEY,
                        "s3proxy.credential=" + S3_SECRET_KEY,
                        "jclouds.provider=filesystem-nio2",
                        "jclouds.filesystem.basedir=" + dir,
                        // The web page reads a finished image back (to use it as an init image): allow any origin.
                        "s3proxy.cors-allow-all=true",
                        ""));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
        return new ServiceProcess("s3", "http://127.0.0.1:" + port,
                List.of(java, "-Xmx256m", "-jar", jar.toString(), "--properties", config.toString()), Map.of(), root,
                home, () -> Probes.httpStatusBelow("http://127.0.0.1:" + port + "/", 600), prepare, List.of(port));
    }

    /** Settings of one worker process: it serves every model folder in {@code modelDirs}. */
    public record WorkerSettings(String name, String kafka, String s3Endpoint, List<Path> modelDirs, int healthPort,
            Map<String, String> extraEnvironment) {
        public WorkerSettings {
            modelDirs = List.copyOf(modelDirs);
            extraEnvironment = Map.copyOf(extraEnvironment);
        }
    }

    public ServiceProcess worker(WorkerSettings settings) {
        Path service = root.resolve("worker/service/target");
        Path jar = findJar(service, "easel-worker-");
        Map<String, String> env = new HashMap<>();
        env.put("EASEL_KAFKA_BOOTSTRAP", settings.kafka());
        env.put("EASEL_S3_ENDPOINT", settings.s3Endpoint());
        env.put("EASEL_S3_ACCESS_KEY", S3_ACCESS_KEY);
        env.put("EASEL_S3_SECRET_KEY", S3_SECRET_KEY);
        env.put("EASEL_MODEL_DIR", String.join(File.pathSeparator,
                settings.modelDirs().stream().map(dir -> dir.toAbsolutePath().toString()).toList()));
        env.put("EASEL_HEALTH_PORT", Integer.toString(settings.healthPort()));
        env.put("EASEL_WORKER_ID", settings.name());
        env.putAll(settings.extraEnvironment());
        String readyUrl = "http://127.0.0.1:" + settings.healthPort() + "/health/ready";
        return new ServiceProcess(settings.name(), readyUrl,
                List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx3g",
                        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                        "-cp", jar + File.pathSeparator + service.resolve("lib") + "/*",
                        "dev.easel.worker.WorkerMain"),
                env, root, home, () -> Probes.httpStatusBelow(readyUrl, 300), () -> { }, List.of(settings.healthPort()));
    }

    /**
     * The gateway's JVM options, here and in its image (gateway.Dockerfile). The JIT stays on its default: C1 alone
     * halved what a new gateway's first few hundred jobs cost, but on two cores it could not keep up with 3,072 clients
     * submitting at once (docs/benchmarks.md, "the gateway back on the default JIT").
     */
    public static final List<String> GATEWAY_JVM_OPTIONS = List.of("-Xmx512m");

    /** A gateway on {@code port}. */
    public ServiceProcess gateway(String name, int port, String kafka, String s3Endpoint) {
        return gateway(name, port, kafka, s3Endpoint, Map.of());
    }

    /** A gateway on {@code port} with further settings of application.properties. */
    public ServiceProcess gateway(String name, int port, String kafka, String s3Endpoint, Map<String, String> settings) {
        Path jar = requireBuilt(root.resolve("api-gateway/target/quarkus-app/quarkus-run.jar"), "the API gateway");
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(GATEWAY_JVM_OPTIONS);
        command.addAll(List.of(
                "-Dquarkus.http.port=" + port,
                "-Dkafka.bootstrap.servers=" + kafka,
                "-Deasel.s3.endpoint=" + s3Endpoint,
                "-Deasel.s3.access-key=" + S3_ACCESS_KEY,
                "-Deasel.s3.secret-key=" + S3_SECRET_KEY,
                // Everything of the local stack is on this machine, webhook receivers included.
                "-Deasel.webhooks.allow-loopback=true"));
        settings.forEach((key, value) -> command.add("-D" + key + "=" + value));
        command.addAll(List.of("-jar", jar.toString()));
        String url = "http://127.0.0.1:" + port;
        return new ServiceProcess(name, url, command, Map.of(), root, home,
                () -> Probes.httpStatusBelow(url + "/q/health/ready", 300), () -> { }, List.of(port));
    }

    private static Path requireBuilt(Path path, String what) {
        if (!Files.exists(path)) {
            throw new IllegalStateException(what + " is not built (" + path + " is missing); run ./mvnw install -DskipTests");
        }
        return path;
    }

    private static Path findJar(Path dir, String prefix) {
        try (var files = Files.list(requireBuilt(dir, "the worker"))) {
            return files.filter(p -> p.getFileName().toString().startsWith(prefix)
                    && p.getFileName().toString().endsWith(".jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("the worker jar is not built in " + dir
                            + "; run ./mvnw install -DskipTests"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
