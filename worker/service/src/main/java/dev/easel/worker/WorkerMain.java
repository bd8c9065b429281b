package dev.easel.worker;

import dev.easel.contracts.Topics;
import dev.easel.engine.adapter.AdapterLibrary;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
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
        List<Device> devices = new ArrayList<>();
        List<String> modelIds = new ArrayList<>();
        String provider = null;
        for (int i = 0; i < config.devices(); i++) {
            Map<String, StableDiffusionPipeline> pipelines = new LinkedHashMap<>();
            for (Path dir : config.modelDirs()) {
                ModelFolder model = ModelFolder.load(dir, new OrtRuntime(config.runtimeFor(i)));
                Topics.jobs(model.name()); // refuses a model id that cannot name a queue
                if (pipelines.containsKey(model.name())) {
                    throw new IllegalArgumentException("two model folders are both named '" + model.name() + "'");
                }
                StableDiffusionPipeline pipeline = new StableDiffusionPipeline(model, adapters);
                pipeline.generate(pipeline.warmUpRequest(), step -> { }, () -> false);
                pipelines.put(model.name(), pipeline);
                provider = model.runtime().provider();
            }
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
