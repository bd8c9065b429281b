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
        // Image upscalers first (and always held): the other models' hires fix may use them, on the same device.
        List<Path> folders = new ArrayList<>(modelFolders);
        folders.sort(java.util.Comparator.comparing(dir -> !ImageUpscaler.isUpscalerFolder(dir)));
        List<ResidentModels.Model> candidates = new ArrayList<>();
        for (Path dir : folders) {
            String id = dir.toAbsolutePath().normalize().getFileName().toString();
            Topics.jobs(id); // refuses a model id that cannot name a queue
            if (candidates.stream().anyMatch(m -> m.id().equals(id))) {
                throw new IllegalArgumentException("two model folders are both named '" + id + "'");
            }
            candidates.add(new ResidentModels.Model(id, dir, ResidentModels.Model.estimateBytes(dir),
                    ImageUpscaler.isUpscalerFolder(dir)));
        }
        long budget = config.deviceMemoryBytes();
        List<Device> devices = new ArrayList<>();
        Map<String, ServedModel> served = new LinkedHashMap<>();
        String provider = null;
        for (int i = 0; i < config.devices(); i++) {
            OrtRuntime runtime = new OrtRuntime(config.runtimeFor(i));
            Map<String, ImageUpscaler> upscalers = new LinkedHashMap<>();
            ResidentModels models = new ResidentModels(candidates, folder -> {
                Pipeline pipeline = Pipeline.load(folder, runtime, adapters, upscalers);
                try {
                    pipeline.generate(pipeline.warmUpRequest(), step -> { }, () -> false);
                } catch (ai.onnxruntime.OrtException | RuntimeException e) {
                    pipeline.close();
                    throw new dev.easel.engine.model.ModelException("model " + pipeline.modelName() + " failed its"
                            + " warm-up run: " + e.getMessage(), e);
                }
                if (pipeline instanceof ImageUpscalePipeline image) {
                    upscalers.put(pipeline.modelName(), image.upscaler());
                }
                return pipeline;
            }, budget);
            for (ResidentModels.Model model : candidates) {
                // Device 0 loads every model once (checking it and reading what it offers; the least recently loaded
                // make room for the next); the other devices load what fits, the rest when jobs ask for them.
                if (i > 0 && (!served.containsKey(model.id()) || !models.fitsNow(model.id()))) {
                    continue;
                }
                try {
                    Pipeline pipeline = models.get(model.id());
                    if (i == 0) {
                        served.put(model.id(), ServedModel.of(pipeline));
                    }
                    provider = pipeline.provider();
                } catch (RuntimeException e) {
                    // A model that cannot load is left out; the worker serves the others.
                    LOG.log(System.Logger.Level.ERROR, "model " + model.id() + " is not served: " + e.getMessage());
                }
            }
            devices.add(new Device(i, models));
        }
        if (served.isEmpty()) {
            throw new IllegalArgumentException("no model could be loaded; see the errors above");
        }
        // In the configured order (not the load order): the first is the gateway's default when none is set.
        List<String> modelIds = modelFolders.stream().map(dir -> dir.toAbsolutePath().normalize().getFileName()
                .toString()).filter(served::containsKey).toList();
        LOG.log(System.Logger.Level.INFO, "worker " + config.workerId() + " serves " + modelIds + " on "
                + config.devices() + " device(s), " + provider + ", " + (budget == Long.MAX_VALUE ? "no memory bound"
                : budget / (1024 * 1024) + " MB per device") + "; LoRAs from " + config.loraDir()
                + ", embeddings from " + config.embeddingsDir());

        ImageStore images = new ImageStore(config);
        images.ensureBucket();
        QueueSetup.prepare(config, modelIds);
        EventPublisher events = new EventPublisher(config, metrics);
        Tracing tracing = Tracing.fromEnvironment(System.getenv(), config.workerId());
        Cancellations cancellations = new Cancellations(config);
        cancellations.start();
        worker[0] = new Worker(config, devices, modelIds.stream().map(served::get).toList(), provider,
                new JobRunner(config, events, images, cancellations::isCancelled, tracing), events, adapters);
        Worker running = worker[0];
        metrics.bindPool(config.workerId(), modelIds, provider, config.devices(), running::busyDevices,
                running::modelLoads);
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
