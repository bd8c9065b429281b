package dev.easel.worker;

import dev.easel.engine.model.RuntimeOptions;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.Map;

/**
 * The worker's settings, read from environment variables with defaults for the local stack:
 * <pre>
 * EASEL_KAFKA_BOOTSTRAP           127.0.0.1:9092
 * EASEL_WORKER_GROUP              easel-workers        (all workers share it: one consumer group)
 * EASEL_WORKER_ID                 host-pid
 * EASEL_MODEL_DIR                 .easel/models/toy
 * EASEL_WORKER_DEVICES            1                    (jobs in flight = devices; device i = CUDA device i)
 * EASEL_S3_ENDPOINT               http://127.0.0.1:9000
 * EASEL_S3_ACCESS_KEY / _SECRET_KEY  easel / easel-secret
 * EASEL_S3_BUCKET                 easel-images         (created when absent)
 * EASEL_MAX_POLL_INTERVAL_MS      300000
 * EASEL_PROGRESS_MAX_PER_SECOND   10                   (0: every step)
 * EASEL_HEALTH_HOST / _PORT       127.0.0.1 / 8081     (/health/live, /health/ready)
 * EASEL_DEVICE, EASEL_INTRA_OP_THREADS, EASEL_INTER_OP_THREADS  ONNX Runtime (see RuntimeOptions)
 * </pre>
 */
public record WorkerConfig(
        String bootstrapServers,
        String groupId,
        String workerId,
        Path modelDir,
        int devices,
        String s3Endpoint,
        String s3AccessKey,
        String s3SecretKey,
        String bucket,
        int maxPollIntervalMs,
        int progressMaxPerSecond,
        String healthHost,
        int healthPort,
        RuntimeOptions runtime) {

    public static WorkerConfig fromEnvironment(Map<String, String> env) {
        return new WorkerConfig(
                env.getOrDefault("EASEL_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
                env.getOrDefault("EASEL_WORKER_GROUP", "easel-workers"),
                env.getOrDefault("EASEL_WORKER_ID", defaultWorkerId()),
                Path.of(env.getOrDefault("EASEL_MODEL_DIR", ".easel/models/toy")),
                integer(env, "EASEL_WORKER_DEVICES", 1),
                env.getOrDefault("EASEL_S3_ENDPOINT", "http://127.0.0.1:9000"),
                env.getOrDefault("EASEL_S3_ACCESS_KEY", "easel"),
                env.getOrDefault("EASEL_S3_SECRET_KEY", "easel-secret"),
                env.getOrDefault("EASEL_S3_BUCKET", "easel-images"),
                integer(env, "EASEL_MAX_POLL_INTERVAL_MS", 300_000),
                integer(env, "EASEL_PROGRESS_MAX_PER_SECOND", 10),
                env.getOrDefault("EASEL_HEALTH_HOST", "127.0.0.1"),
                integer(env, "EASEL_HEALTH_PORT", 8081),
                RuntimeOptions.fromEnvironment());
    }

    private static int integer(Map<String, String> env, String name, int fallback) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number, got '" + value + "'");
        }
    }

    private static String defaultWorkerId() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            host = "worker";
        }
        return host + "-" + ManagementFactory.getRuntimeMXBean().getPid();
    }

    /** The runtime options of device {@code index}: each device runs on its own CUDA device id. */
    public RuntimeOptions runtimeFor(int index) {
        return new RuntimeOptions(runtime.device(), runtime.cudaDeviceId() + index, runtime.intraOpThreads(),
                runtime.interOpThreads());
    }
}
