package dev.easel.worker;

import dev.easel.engine.model.RuntimeOptions;
import java.io.File;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The worker's settings, read from environment variables with defaults for the local stack:
 * <pre>
 * EASEL_KAFKA_BOOTSTRAP           127.0.0.1:9092
 * EASEL_WORKER_ID                 host-pid             (shown in job status and GET /v1/workers)
 * EASEL_MODEL_DIR                 .easel/models/toy    (several folders separated by ':'; each is one model, its id
 *                                                       the folder name)
 * EASEL_LORA_DIR                  loras/ beside the first model folder (LoRAs by name: NAME.safetensors)
 * EASEL_EMBEDDINGS_DIR            embeddings/ beside the first model folder (textual inversion: WORD.safetensors)
 * EASEL_WORKER_DEVICES            1                    (jobs generating at once; device i = CUDA device i)
 * EASEL_S3_ENDPOINT               http://127.0.0.1:9000
 * EASEL_S3_ACCESS_KEY / _SECRET_KEY  easel / easel-secret
 * EASEL_S3_BUCKET                 easel-images         (created when absent)
 * EASEL_LOCK_MS                   15000                (a job's lock; renewed while it runs; a dead worker's job runs
 *                                                       again once its lock expires; the share group's, which the
 *                                                       worker that started last sets, is what slots renew by)
 * EASEL_MAX_ATTEMPTS              3                    (deliveries of a job before it fails for good; 1-9)
 * EASEL_STORAGE_RETRY_MS          60000                (how long uploads are retried before the job is released)
 * EASEL_DRAIN_MS                  60000                (on SIGTERM: how long running jobs may finish before release)
 * EASEL_HEARTBEAT_MS              2000                 (announcements on easel.workers)
 * EASEL_PROGRESS_MAX_PER_SECOND   0                    (progress events per job and second; 0: every step)
 * EASEL_PREVIEW_MAX_PER_SECOND    2                    (previews per job and second; 0: every one asked for)
 * EASEL_EVENT_LINGER_MS           20                   (how long an event may wait to share a produce request with
 *                                                       others; terminal events are sent at once)
 * EASEL_RESERVE_AHEAD_MS          200                  (a device takes its next job this long before it expects to be
 *                                                       free, or as long as its recent leases took if longer, so the
 *                                                       job starts the moment it is; 0: as long as its leases take)
 * EASEL_MIN_STEP_MS               0                    (each denoising step takes at least this long: a stand-in for
 *                                                       a GPU-bound step in scaling benchmarks; 0 in production)
 * EASEL_HEALTH_HOST / _PORT       127.0.0.1 / 8081     (/health/live, /health/ready)
 * EASEL_DEVICE, EASEL_INTRA_OP_THREADS, EASEL_INTER_OP_THREADS  ONNX Runtime (see RuntimeOptions)
 * EASEL_DEVICE_MEMORY_MB          3/4 of the RAM / devices  (what each device's loaded models may take; models load
 *                                                       when a job needs them, least recently used unloaded; set it
 *                                                       to the GPU's memory on CUDA)
 * EASEL_MIN_RESIDENCY_MS          10000                (a device placed on a model keeps it at least this long, so
 *                                                       models taking turns on a device do not reload on every job)
 * EASEL_PLACEMENT_WAIT_MS         5000                 (how long a model's jobs may wait beyond its devices before
 *                                                       an idle device, or one whose models have no backlog, joins)
 * EASEL_STORE_MODELS              (none)               (model ids to serve from the model store, ',' separated, or
 *                                                       all; beside the EASEL_MODEL_DIR folders, which may then be
 *                                                       left out)
 * EASEL_MODEL_BUCKET              easel-models         (the model store's bucket, on EASEL_S3_ENDPOINT)
 * EASEL_MODEL_CACHE_DIR           .easel/model-cache   (verified copies of store models; least recently used evicted)
 * EASEL_MODEL_CACHE_MB            51200                (the cache's bound)
 * </pre>
 */
public record WorkerConfig(
        String bootstrapServers,
        String workerId,
        List<Path> modelDirs,
        int devices,
        String s3Endpoint,
        String s3AccessKey,
        String s3SecretKey,
        String bucket,
        int lockMillis,
        int maxAttempts,
        long storageRetryMillis,
        long drainMillis,
        long heartbeatMillis,
        int progressMaxPerSecond,
        int previewMaxPerSecond,
        int eventLingerMillis,
        long reserveAheadMillis,
        long minStepMillis,
        String healthHost,
        int healthPort,
        RuntimeOptions runtime,
        Path loraDir,
        Path embeddingsDir,
        long deviceMemoryMb,
        long minResidencyMillis,
        long placementWaitMillis,
        StoreSettings store) {

    /** Models from the model store: which ({@code all}: the whole catalogue), its bucket, the disk cache and its bound. */
    public record StoreSettings(List<String> models, String bucket, Path cacheDir, long cacheMegabytes) {
        public boolean all() {
            return models.equals(List.of("all"));
        }
    }

    public WorkerConfig {
        if (devices < 1) {
            throw new IllegalArgumentException("EASEL_WORKER_DEVICES must be at least 1, got " + devices);
        }
        if (maxAttempts < 1 || maxAttempts > 9) {
            throw new IllegalArgumentException("EASEL_MAX_ATTEMPTS must be between 1 and 9 (the broker allows at most"
                    + " 10 deliveries), got " + maxAttempts);
        }
        if (lockMillis < 1000) {
            throw new IllegalArgumentException("EASEL_LOCK_MS must be at least 1000, got " + lockMillis);
        }
        if (deviceMemoryMb < 0) {
            throw new IllegalArgumentException("EASEL_DEVICE_MEMORY_MB must be 0 (3/4 of the RAM shared by the devices)"
                    + " or more, got " + deviceMemoryMb);
        }
        if (minResidencyMillis < 0 || placementWaitMillis < 0) {
            throw new IllegalArgumentException("EASEL_MIN_RESIDENCY_MS and EASEL_PLACEMENT_WAIT_MS must be 0 or more, got "
                    + minResidencyMillis + " and " + placementWaitMillis);
        }
        if (modelDirs.isEmpty() && store.models().isEmpty()) {
            throw new IllegalArgumentException("EASEL_MODEL_DIR names no model folder and EASEL_STORE_MODELS no model");
        }
    }

    public static WorkerConfig fromEnvironment(Map<String, String> env) {
        return new WorkerConfig(
                env.getOrDefault("EASEL_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
                env.getOrDefault("EASEL_WORKER_ID", defaultWorkerId()),
                Arrays.stream(env.getOrDefault("EASEL_MODEL_DIR", env.containsKey("EASEL_STORE_MODELS") ? ""
                        : ".easel/models/toy").split(File.pathSeparator))
                        .filter(dir -> !dir.isBlank()).map(dir -> Path.of(dir.strip())).toList(),
                integer(env, "EASEL_WORKER_DEVICES", 1),
                env.getOrDefault("EASEL_S3_ENDPOINT", "http://127.0.0.1:9000"),
                env.getOrDefault("EASEL_S3_ACCESS_KEY", "easel"),
                env.getOrDefault("EASEL_S3_SECRET_KEY", "easel-secret"),
                env.getOrDefault("EASEL_S3_BUCKET", "easel-images"),
                integer(env, "EASEL_LOCK_MS", 15_000),
                integer(env, "EASEL_MAX_ATTEMPTS", 3),
                integer(env, "EASEL_STORAGE_RETRY_MS", 60_000),
                integer(env, "EASEL_DRAIN_MS", 60_000),
                integer(env, "EASEL_HEARTBEAT_MS", 2_000),
                integer(env, "EASEL_PROGRESS_MAX_PER_SECOND", 0),
                integer(env, "EASEL_PREVIEW_MAX_PER_SECOND", 2),
                integer(env, "EASEL_EVENT_LINGER_MS", 20),
                integer(env, "EASEL_RESERVE_AHEAD_MS", 200),
                integer(env, "EASEL_MIN_STEP_MS", 0),
                env.getOrDefault("EASEL_HEALTH_HOST", "127.0.0.1"),
                integer(env, "EASEL_HEALTH_PORT", 8081),
                RuntimeOptions.fromEnvironment(),
                adapterDir(env, "EASEL_LORA_DIR", "loras"),
                adapterDir(env, "EASEL_EMBEDDINGS_DIR", "embeddings"),
                integer(env, "EASEL_DEVICE_MEMORY_MB", 0),
                integer(env, "EASEL_MIN_RESIDENCY_MS", 10_000),
                integer(env, "EASEL_PLACEMENT_WAIT_MS", 5_000),
                new StoreSettings(Arrays.stream(env.getOrDefault("EASEL_STORE_MODELS", "").split(","))
                        .map(String::strip).filter(id -> !id.isEmpty()).toList(),
                        env.getOrDefault("EASEL_MODEL_BUCKET", "easel-models"),
                        Path.of(env.getOrDefault("EASEL_MODEL_CACHE_DIR", ".easel/model-cache")),
                        integer(env, "EASEL_MODEL_CACHE_MB", 51_200)));
    }

    /** A folder of adapter files: as set, else {@code name} beside the first model folder. */
    private static Path adapterDir(Map<String, String> env, String variable, String name) {
        String value = env.get(variable);
        if (value != null && !value.isBlank()) {
            return Path.of(value.strip());
        }
        String models = env.getOrDefault("EASEL_MODEL_DIR", env.containsKey("EASEL_STORE_MODELS")
                ? env.getOrDefault("EASEL_MODEL_CACHE_DIR", ".easel/model-cache") + "/store"
                : ".easel/models/toy").split(File.pathSeparator)[0].strip();
        if (models.isEmpty()) {
            models = env.getOrDefault("EASEL_MODEL_CACHE_DIR", ".easel/model-cache") + "/store";
        }
        Path parent = Path.of(models).toAbsolutePath().normalize().getParent();
        return parent == null ? null : parent.resolve(name);
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
    /**
     * What each device's loaded models may take: EASEL_DEVICE_MEMORY_MB, else three quarters of the machine's RAM
     * shared by the devices (ONNX Runtime's Java API cannot read a GPU's free memory: set it on CUDA).
     */
    public long deviceMemoryBytes() {
        if (deviceMemoryMb > 0) {
            return deviceMemoryMb * 1024 * 1024;
        }
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize() / 4 * 3 / devices;
        }
        return Long.MAX_VALUE;
    }

    public RuntimeOptions runtimeFor(int index) {
        return new RuntimeOptions(runtime.device(), runtime.cudaDeviceId() + index, runtime.intraOpThreads(),
                runtime.interOpThreads(), runtime.maxBatchImages(), runtime.upscaleTile(),
                runtime.withoutT5());
    }
}
