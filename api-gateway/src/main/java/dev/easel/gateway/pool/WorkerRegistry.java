package dev.easel.gateway.pool;


import dev.easel.contracts.Json;
import dev.easel.contracts.WorkerStatus;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import jakarta.enterprise.context.ApplicationScoped;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The pool as the workers announce it on {@code easel.workers}: who is alive, which models each serves, how many devices
 * are busy. A worker that missed {@code easel.workers.missed-heartbeats} heartbeats is gone; one that withdrew (a
 * tombstone) is removed. Gone workers are forgotten after {@code easel.workers.forget-after-seconds}.
 */
@ApplicationScoped
public class WorkerRegistry {
    private static final Logger LOG = Logger.getLogger(WorkerRegistry.class);

    /** A worker as {@code GET /v1/workers} shows it; {@code state} is the announced one, or gone. */
    public record WorkerView(String id, String state, List<String> models, int devices, int busyDevices,
            String executionProvider, long startedAtMillis, long lastHeartbeatMillis, List<String> loras,
            List<String> embeddings, List<String> upscalers, Map<String, Integer> imageUpscalers,
            Map<String, List<String>> schedulers, Map<String, Integer> warmDevices, Long deviceMemoryMb,
            Map<String, Integer> placedDevices, Map<String, Integer> loadingDevices, List<Long> deviceMemoryUsedMb) {
    }

    /** Tells the beans that follow the served models (the metrics' per-model gauges) about each announcement. */
    @jakarta.inject.Inject
    jakarta.enterprise.event.Event<ModelsAnnounced> announced;

    /** The models one worker announced it serves. */
    public record ModelsAnnounced(List<String> models) {
    }

    @ConfigProperty(name = "easel.workers.missed-heartbeats", defaultValue = "3")
    int missedHeartbeats;

    @ConfigProperty(name = "easel.workers.forget-after-seconds", defaultValue = "600")
    long forgetAfterSeconds;

    private final Map<String, WorkerStatus> workers = new ConcurrentHashMap<>();

    /** Folds one record of {@code easel.workers} (a tombstone removes the worker). */
    public void onAnnouncement(ConsumerRecord<String, String> record) {
        if (record.key() == null) {
            return;
        }
        if (record.value() == null) {
            workers.remove(record.key());
            return;
        }
        try {
            WorkerStatus status = Json.read(record.value(), WorkerStatus.class);
            workers.put(record.key(), status);
            announced.fire(new ModelsAnnounced(status.models()));
        } catch (IllegalArgumentException e) {
            LOG.warnf("ignoring an unreadable worker announcement: %s", e.getMessage());
        }
    }

    public boolean isAlive(String workerId) {
        WorkerStatus status = workers.get(workerId);
        return status != null && alive(status, System.currentTimeMillis());
    }

    private boolean alive(WorkerStatus status, long now) {
        return now - status.atMillis() <= (long) missedHeartbeats * status.heartbeatMillis();
    }

    public List<WorkerView> workers() {
        long now = System.currentTimeMillis();
        List<WorkerView> views = new ArrayList<>();
        for (WorkerStatus status : workers.values()) {
            boolean alive = alive(status, now);
            if (!alive && now - status.atMillis() > forgetAfterSeconds * 1000) {
                continue;
            }
            views.add(new WorkerView(status.workerId(), alive ? status.state() : "gone", status.models(),
                    status.devices(), alive ? status.busyDevices() : 0, status.executionProvider(),
                    status.startedAtMillis(), status.atMillis(), orEmpty(status.loras()),
                    orEmpty(status.embeddings()), orEmpty(status.upscalers()),
                    status.imageUpscalers() == null ? Map.of() : status.imageUpscalers(),
                    status.schedulers() == null ? Map.of() : status.schedulers(),
                    // Older workers announce no warm models: they hold every model they serve on every device.
                    status.warmDevices() != null ? status.warmDevices() : everywhere(status),
                    status.deviceMemoryMb(),
                    // Workers before placement take every queue they serve on every device.
                    status.placedDevices() != null ? status.placedDevices() : everywhere(status),
                    alive && status.loadingDevices() != null ? status.loadingDevices() : Map.of(),
                    status.deviceMemoryUsedMb() != null ? status.deviceMemoryUsedMb() : List.of()));
        }
        views.sort(Comparator.comparing(WorkerView::id));
        return views;
    }

    private static Map<String, Integer> everywhere(WorkerStatus status) {
        Map<String, Integer> warm = new java.util.TreeMap<>();
        status.models().forEach(model -> warm.put(model, status.devices()));
        return warm;
    }

    private static List<String> orEmpty(List<String> names) {
        return names == null ? List.of() : names;
    }

    /** The live workers that serve {@code modelId} (draining ones take no new jobs, but still finish theirs). */
    public List<WorkerView> serving(String modelId) {
        return workers().stream().filter(w -> !w.state().equals("gone") && !w.state().equals(WorkerStatus.DRAINING)
                && w.models().contains(modelId)).toList();
    }

    /** Every model a live worker serves, sorted. */
    public List<String> servedModels() {
        TreeSet<String> models = new TreeSet<>();
        for (WorkerView worker : workers()) {
            if (!worker.state().equals("gone") && !worker.state().equals(WorkerStatus.DRAINING)) {
                models.addAll(worker.models());
            }
        }
        return List.copyOf(models);
    }

    /** The model a job without {@code model} goes to: the configured default, else the only one served. */
    public Optional<String> defaultModel(Optional<String> configured) {
        if (configured.isPresent()) {
            return configured;
        }
        List<String> served = servedModels();
        return served.size() == 1 ? Optional.of(served.get(0)) : Optional.empty();
    }
}
