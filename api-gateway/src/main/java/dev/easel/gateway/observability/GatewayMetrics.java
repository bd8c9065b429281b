package dev.easel.gateway.observability;

import dev.easel.gateway.pool.QueueFigures;
import dev.easel.gateway.pool.WorkerRegistry;

import dev.easel.contracts.JobEvent;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The gateway's Prometheus metrics at {@code /q/metrics}: jobs submitted here, jobs ended in the pool (every replica
 * folds every event, so every replica reports the whole pool: do not sum those across replicas), each model's queue
 * depth (what an autoscaler scales workers on), devices, and how long jobs waited, ran, uploaded and took end to end.
 * The names are in docs/operations.md's table.
 */
@ApplicationScoped
public class GatewayMetrics {
    @Inject
    MeterRegistry registry;

    @Inject
    QueueFigures queues;

    @Inject
    WorkerRegistry workers;

       private final Set<String> models = ConcurrentHashMap.newKeySet();

    @PostConstruct
    void init() {
        Gauge.builder("easel.workers.live", () -> workers.workers().stream()
                .filter(worker -> !worker.state().equals("gone")).count())
                .description("Workers announcing themselves").register(registry);
    }

    /** Registers the per-model gauges of models not seen before. */
    void onModels(@jakarta.enterprise.event.Observes WorkerRegistry.ModelsAnnounced announced) {
        for (String model : announced.models()) {
            if (models.add(model)) {
                Gauge.builder("easel.queue.depth", () -> queues.queuedJobs(model, busyDevices(model)))
                        .description("Jobs waiting on the model's queue (the broker's share-group backlog)")
                        .tag("model", model).register(registry);
                Gauge.builder("easel.devices", () -> workers.serving(model).stream()
                        .mapToInt(WorkerRegistry.WorkerView::devices).sum())
                        .description("Devices of live workers serving the model").tag("model", model).register(registry);
                Gauge.builder("easel.devices.busy", () -> busyDevices(model))
                        .description("Of those, the devices generating now").tag("model", model).register(registry);
            }
        }
    }

    private int busyDevices(String model) {
        return workers.serving(model).stream().mapToInt(WorkerRegistry.WorkerView::busyDevices).sum();
    }

    public void submitted(String model) {
        registry.counter("easel.jobs.submitted", "model", model).increment();
    }

    /** A job of the pool ended (as this replica read it). */
    public void ended(String model, JobEvent terminal) {
        String modelTag = model == null ? "unknown" : model;
        registry.counter("easel.jobs.ended", "model", modelTag, "status", terminal.type()).increment();
        if (terminal instanceof JobEvent.Completed completed && completed.timings() != null) {
            JobEvent.Timings timings = completed.timings();
            timer("easel.job.queued", "Submit to started", modelTag).record(Duration.ofMillis(timings.queueMillis()));
            timer("easel.job.running", "Generation on the device", modelTag)
                    .record(Duration.ofMillis(timings.engineMillis()));
            timer("easel.job.upload", "Storing the images", modelTag).record(Duration.ofMillis(timings.uploadMillis()));
            timer("easel.job.end_to_end", "Submit to completed", modelTag)
                    .record(Duration.ofMillis(timings.totalMillis()));
        }
    }

    private Timer timer(String name, String description, String model) {
        return Timer.builder(name).description(description).tag("model", model).publishPercentileHistogram()
                .register(registry);
    }
}
