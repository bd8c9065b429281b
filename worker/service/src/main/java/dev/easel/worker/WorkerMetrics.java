package dev.easel.worker;

import dev.easel.contracts.JobEvent;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntSupplier;

/**
 * The worker's Prometheus metrics, served at {@code /metrics} beside its health: what it did with jobs (from the events
 * it publishes), how long its denoising steps, generations and uploads take, and its devices. The metric names are in
 * docs/operations.md's table.
 */
final class WorkerMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Timer steps;
    private final Timer engine;
    private final Timer upload;
    /** Per job and image, the elapsed time of its last step, to time the next. */
    private final Map<String, Long> lastStepElapsed = new ConcurrentHashMap<>();

    WorkerMetrics() {
        steps = Timer.builder("easel.worker.step").description("One denoising step (UNet and scheduler)")
                .publishPercentileHistogram().register(registry);
        engine = Timer.builder("easel.worker.generation").description("A job's generation, all its images")
                .publishPercentileHistogram().register(registry);
        upload = Timer.builder("easel.worker.upload").description("Storing a job's images and final record")
                .publishPercentileHistogram().register(registry);
    }

    /** The devices and what runs on them. */
    private volatile IntSupplier modelLoads = () -> 0;

    void bindPool(String workerId, List<String> models, String executionProvider, int devices, IntSupplier busy,
            IntSupplier modelLoads) {
        // Micrometer holds a function counter's object weakly: the supplier is kept here.
        this.modelLoads = modelLoads;
        io.micrometer.core.instrument.FunctionCounter.builder("easel.worker.model.loads", this,
                metrics -> metrics.modelLoads.getAsInt())
                .description("Models loaded onto a device (at start-up and when jobs asked)").register(registry);
        Gauge.builder("easel.worker.devices", () -> devices).description("Devices (GPUs, or CPU slots) of the worker")
                .register(registry);
        Gauge.builder("easel.worker.devices.busy", busy::getAsInt).description("Devices generating now")
                .register(registry);
        Gauge.builder("easel.worker.info", () -> 1).description("The worker, its execution provider and models")
                .tag("worker", workerId).tag("execution_provider", executionProvider)
                .tag("models", String.join(",", models)).register(registry);
    }

    /** Counts and times what a published event says happened. */
    void observe(JobEvent event) {
        switch (event) {
            case JobEvent.Started started -> jobs("started");
            case JobEvent.Loading loading -> jobs("loading");
            case JobEvent.Requeued requeued -> jobs("requeued");
            case JobEvent.Progress progress -> {
                String key = event.jobId() + "/" + progress.imageIndex();
                Long previous = progress.step() == 1 ? Long.valueOf(0) : lastStepElapsed.get(key);
                if (previous != null) {
                    steps.record(Duration.ofMillis(Math.max(0, progress.elapsedMillis() - previous)));
                }
                lastStepElapsed.put(key, progress.elapsedMillis());
            }
            case JobEvent.Completed completed -> {
                jobs("completed");
                engine.record(Duration.ofMillis(completed.timings().engineMillis()));
                upload.record(Duration.ofMillis(completed.timings().uploadMillis()));
                forget(event.jobId());
            }
            case JobEvent.Failed failed -> {
                jobs("failed");
                forget(event.jobId());
            }
            case JobEvent.Cancelled cancelled -> {
                jobs("cancelled");
                forget(event.jobId());
            }
            case JobEvent.Queued queued -> { }
        }
    }

    private void jobs(String outcome) {
        Counter.builder("easel.worker.jobs").description("Jobs this worker started, requeued or ended, by outcome")
                .tag("outcome", outcome).register(registry).increment();
    }

    private void forget(String jobId) {
        lastStepElapsed.keySet().removeIf(key -> key.startsWith(jobId + "/"));
    }

    /** The Prometheus text exposition. */
    String scrape() {
        return registry.scrape();
    }
}
