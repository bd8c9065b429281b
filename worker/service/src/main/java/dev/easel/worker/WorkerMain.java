package dev.easel.worker;

import dev.easel.contracts.Topics;
import dev.easel.engine.adapter.AdapterLibrary;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.pipeline.ImageUpscalePipeline;
import dev.easel.engine.pipeline.Pipeline;
import dev.easel.engine.model.ImageUpscaler;
import dev.easel.store.ModelCache;
import dev.easel.store.ModelManifest;
import dev.easel.store.ModelStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * The worker process: loads every model once per device and warms it up, makes sure the bucket and the queues exist,
 * then takes jobs until SIGTERM, when it drains. Readiness turns true only after all of that.
 */
public final class WorkerMain {
    private static final System.Logger LOG = System.getLogger(WorkerMain.class.getName());

    /**
     * The folders of the models the worker serves from the model store, each verified in the disk cache (downloaded
     * when the cache lacks it or the store has a newer push); logs where each came from and what it cost.
     */
    private static List<Path> storeModels(WorkerConfig config) throws java.io.IOException {
        WorkerConfig.StoreSettings settings = config.store();
        if (settings.models().isEmpty()) {
            return List.of();
        }
        ModelStore store = new ModelStore(config.s3Endpoint(), config.s3AccessKey(), config.s3SecretKey(),
                settings.bucket());
        ModelCache cache = new ModelCache(settings.cacheDir(), settings.cacheMegabytes() * 1024 * 1024, store);
        List<String> ids = settings.all() ? store.catalogue().stream().map(ModelManifest::id).toList()
                : settings.models();
        if (ids.isEmpty() && config.modelDirs().isEmpty()) {
            throw new IllegalArgumentException("EASEL_STORE_MODELS is all, and the model store (bucket "
                    + settings.bucket() + ") holds no model: push one with ./easel models push DIR");
        }
        List<Path> folders = new ArrayList<>();
        for (String id : ids) {
            ModelCache.Fetched fetched = cache.fetch(id);
            LOG.log(System.Logger.Level.INFO, "model " + id + " (" + fetched.manifest().bytes() / (1024 * 1024)
                    + " MB): " + (fetched.downloaded() ? "downloaded and verified in " + fetched.downloadMillis()
                    + " ms" : "verified copy from the cache") + " at " + fetched.folder());
            folders.add(fetched.folder());
        }
        return folders;
    }

    private WorkerMain() {
    }

    public static void main(String[] args) throws Exception {
        try {
            run();
        } catch (Exception | Error e) {
            // One line for the log and a non-zero exit, so that the supervisor sees the worker did not come up.
            System.err.println("easel-worker: cannot start: " + e);
            System.exit(1);
        }
    }

    private static void run() throws Exception {
        WorkerConfig config;
        try {
            config = WorkerConfig.fromEnvironment(System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("easel-worker: " + e.getMessage());
            System.exit(2);
            return;
        }
        Worker[] worker = new Worker[1];
        WorkerMetrics metrics = new WorkerMetrics();
        HealthServer health = new HealthServer(config.healthHost(), config.healthPort(),
                () -> worker[0] != null && worker[0].isReady(), config.workerId(), metrics);
        health.start();

        AdapterLibrary adapters = new AdapterLibrary(config.loraDir(), config.embeddingsDir());
        List<Path> modelFolders = new ArrayList<>(config.modelDirs());
        modelFolders.addAll(storeModels(config));
        List<Device> devices = new ArrayList<>();
        List<String> modelIds = new ArrayList<>();
        String provider = null;
        for (int i = 0; i < config.devices(); i++) {
            // Image upscalers first: the other models' hires fix may use them (on the same device).
            List<Path> folders = new ArrayList<>(modelFolders);
            folders.sort(java.util.Comparator.comparing(dir -> !ImageUpscaler.isUpscalerFolder(dir)));
            Map<Path, Pipeline> loaded = new java.util.HashMap<>();
            Map<String, ImageUpscaler> upscalers = new LinkedHashMap<>();
            OrtRuntime runtime = new OrtRuntime(config.runtimeFor(i));
            for (Path dir : folders) {
                Pipeline pipeline = Pipeline.load(dir, runtime, adapters, upscalers);
                Topics.jobs(pipeline.modelName()); // refuses a model id that cannot name a queue
                if (loaded.values().stream().anyMatch(p -> p.modelName().equals(pipeline.modelName()))) {
                    throw new IllegalArgumentException("two model folders are both named '" + pipeline.modelName()
                            + "'");
                }
                pipeline.generate(pipeline.warmUpRequest(), step -> { }, () -> false);
                loaded.put(dir, pipeline);
                if (pipeline instanceof ImageUpscalePipeline image) {
                    upscalers.put(pipeline.modelName(), image.upscaler());
                }
                provider = pipeline.provider();
            }
            Map<String, Pipeline> pipelines = new LinkedHashMap<>(); // in the configured order: the first is the default
            modelFolders.forEach(dir -> pipelines.put(loaded.get(dir).modelName(), loaded.get(dir)));
            if (i == 0) {
                modelIds.addAll(pipelines.keySet());
            }
            devices.add(new Device(i, pipelines));
        }
        LOG.log(System.Logger.Level.INFO, "worker " + config.workerId() + " serves " + modelIds + " on "
                + config.devices() + " device(s), " + provider + "; LoRAs from " + config.loraDir()
                + ", embeddings from " + config.embeddingsDir());

        ImageStore images = new ImageStore(config);
        images.ensureBucket();
        QueueSetup.prepare(config, modelIds);
        EventPublisher events = new EventPublisher(config, metrics);
        Tracing tracing = Tracing.fromEnvironment(System.getenv(), config.workerId());
        Cancellations cancellations = new Cancellations(config);
        cancellations.start();
        worker[0] = new Worker(config, devices, modelIds, provider, new JobRunner(config, events, images,
                cancellations::isCancelled, tracing), events, adapters);
        Worker running = worker[0];
        metrics.bindPool(config.workerId(), modelIds, provider, config.devices(), running::busyDevices);
        CountDownLatch drained = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                worker[0].drain();
                cancellations.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                events.close();
                tracing.close();
                health.close();
                drained.countDown();
            }
        }));
        worker[0].start();
        while (drained.getCount() > 0) {
            if (!worker[0].isHealthy()) {
                // A queue slot died: exit so that the supervisor (./easel up, Kubernetes) restarts the worker.
                LOG.log(System.Logger.Level.ERROR, "a queue slot ended unexpectedly; exiting");
                System.exit(1);
            }
            drained.await(1, java.util.concurrent.TimeUnit.SECONDS);
        }
    }
}
