package dev.easel.worker;

import dev.easel.contracts.Topics;
import dev.easel.engine.adapter.AdapterLibrary;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.pipeline.ImageUpscalePipeline;
import dev.easel.engine.pipeline.Pipeline;
import dev.easel.engine.model.ImageUpscaler;
import java.nio.file.Path;
import java.time.Duration;
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

    private WorkerMain() {
    }

    /** A model folder as a device may hold it: its id (the folder's name, which must name a queue) and its size. */
    private static ResidentModels.Model candidate(Path dir) {
        String id = dir.toAbsolutePath().normalize().getFileName().toString();
        Topics.jobs(id); // refuses a model id that cannot name a queue
        return new ResidentModels.Model(id, dir, ResidentModels.Model.estimateBytes(dir),
                ImageUpscaler.isUpscalerFolder(dir));
    }

    /**
     * Serves a model that arrived after the start (pushed to the store): creates its queue, lets every device hold it,
     * loads it once on the first device between jobs (checking it and reading what it offers, as at the start), then
     * the worker announces it and takes its jobs.
     */
    private static void serveLater(Path folder, WorkerConfig config, List<Device> devices, Worker worker) {
        ResidentModels.Model model = candidate(folder);
        if (worker.modelIds().contains(model.id())) {
            return;
        }
        try {
            QueueSetup.prepare(config, List.of(model.id()));
        } catch (Exception e) {
            throw new IllegalStateException("the queue of model " + model.id() + " could not be created: " + e, e);
        }
        devices.forEach(device -> device.models().add(model));
        Device first = devices.get(0);
        ServedModel served;
        try {
            served = first.thread().submit(() -> ServedModel.of(first.pipeline(model.id()))).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (java.util.concurrent.ExecutionException e) {
            throw new dev.easel.engine.model.ModelException("model " + model.id() + " could not be loaded: "
                    + e.getCause().getMessage(), e.getCause());
        }
        worker.serve(served);
        LOG.log(System.Logger.Level.INFO, "worker " + config.workerId() + " now serves " + model.id() + " ("
                + served.kind().wireName() + "), pushed to the store after it started");
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
        StoreModels store = new StoreModels(config);
        modelFolders.addAll(store.fetchAtStart(!config.modelDirs().isEmpty()));
        // Image upscalers first (and always held): the other models' hires fix may use them, on the same device.
        List<Path> folders = new ArrayList<>(modelFolders);
        folders.sort(java.util.Comparator.comparing(dir -> !ImageUpscaler.isUpscalerFolder(dir)));
        List<ResidentModels.Model> candidates = new ArrayList<>();
        for (Path dir : folders) {
            ResidentModels.Model candidate = candidate(dir);
            if (candidates.stream().anyMatch(m -> m.id().equals(candidate.id()))) {
                throw new IllegalArgumentException("two model folders are both named '" + candidate.id() + "'");
            }
            candidates.add(candidate);
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
        Duration handOver = QueueSetup.prepare(config, modelIds);
        LOG.log(System.Logger.Level.INFO, "the share group hands a device its queues within " + handOver.toMillis()
                + " ms of a placement move (two heartbeats and an assignment)");
        EventPublisher events = new EventPublisher(config, metrics);
        Tracing tracing = Tracing.fromEnvironment(System.getenv(), config.workerId());
        Cancellations cancellations = new Cancellations(config);
        cancellations.start();
        worker[0] = new Worker(config, handOver, devices, modelIds.stream().map(served::get).toList(), provider,
                new JobRunner(config, events, images, cancellations::isCancelled, tracing), events, adapters);
        Worker running = worker[0];
        metrics.bindPool(config.workerId(), modelIds, provider, config.devices(), running::busyDevices,
                running::modelLoads);
        CountDownLatch drained = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                store.close();
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
        store.watch(folder -> serveLater(folder, config, devices, running));
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
