package dev.easel.worker;

import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import java.util.ArrayList;
import java.util.List;

/**
 * The worker process: loads the model once per device and warms it up, makes sure the bucket exists, then consumes
 * jobs until stopped. Readiness turns true only after all of that.
 */
public final class WorkerMain {
    private static final System.Logger LOG = System.getLogger(WorkerMain.class.getName());

    private WorkerMain() {
    }

    public static void main(String[] args) throws Exception {
        try {
            run();
        } catch (Exception e) {
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
        JobConsumer[] consumer = new JobConsumer[1];
        HealthServer health = new HealthServer(config.healthHost(), config.healthPort(),
                () -> consumer[0] != null && consumer[0].isPolling(), config.workerId());
        health.start();

        List<StableDiffusionPipeline> devices = new ArrayList<>();
        List<ModelFolder> models = new ArrayList<>();
        for (int i = 0; i < config.devices(); i++) {
            ModelFolder model = ModelFolder.load(config.modelDir(), new OrtRuntime(config.runtimeFor(i)));
            models.add(model);
            StableDiffusionPipeline pipeline = new StableDiffusionPipeline(model);
            pipeline.generate(GenerationRequest.builder("warm-up").size(64, 64).steps(1).guidanceScale(2).seed(0L)
                    .build(), step -> { }, () -> false);
            devices.add(pipeline);
        }
        LOG.log(System.Logger.Level.INFO, "worker " + config.workerId() + " serves model '" + models.get(0).name()
                + "' on " + config.devices() + " device(s), " + models.get(0).runtime().provider());

        ImageStore images = new ImageStore(config);
        images.ensureBucket();
        EventPublisher events = new EventPublisher(config);
        Cancellations cancellations = new Cancellations(config);
        cancellations.start();
        consumer[0] = new JobConsumer(config, new JobProcessor(config, events, images, cancellations), devices);
        Thread polling = new Thread(consumer[0], "easel-jobs");
        boolean[] stopping = {false};
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping[0] = true;
            consumer[0].close();
            try {
                polling.join(60_000);
                cancellations.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            events.close();
            health.close();
        }));
        polling.start();
        polling.join();
        if (!stopping[0]) {
            // The consumer died: exit so that the supervisor (./easel up, Kubernetes) sees it and restarts the worker.
            LOG.log(System.Logger.Level.ERROR, "job consumer ended unexpectedly; exiting");
            System.exit(1);
        }
    }
}
