package dev.easel.worker;

import dev.easel.contracts.WorkerStatus;
import dev.easel.engine.adapter.AdapterLibrary;
import dev.easel.engine.pipeline.ModelKind;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Announces the worker on {@code easel.workers} every heartbeat; a worker that stops announcing is shown as gone. */
final class Announcer implements AutoCloseable {
    private final WorkerConfig config;
    private final EventPublisher events;
    private final Supplier<List<ServedModel>> served;
    private final String executionProvider;
    private final Supplier<String> state;
    private final Supplier<Integer> busyDevices;
    private final AdapterLibrary adapters;
    private final Supplier<Map<String, Integer>> warmDevices;
    private final Supplier<Map<String, Integer>> placedDevices;
    private final Supplier<Map<String, Integer>> loadingDevices;
    private final Supplier<List<Long>> deviceMemoryUsedMb;
    private final long startedAtMillis = System.currentTimeMillis();
    private volatile boolean announced;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "easel-announcer");
        thread.setDaemon(true);
        return thread;
    });

    /**
     * {@code served}: the models the worker serves now (read at every heartbeat: models from the store added later
     * show), their kinds, schedulers and upscale factors; {@code adapters}: the LoRAs and embeddings announced (files
     * added later show too); {@code warmDevices} which devices hold which model now, {@code placedDevices} which take
     * which model's queue, {@code loadingDevices} which load which model now, {@code deviceMemoryUsedMb} what each
     * device's models take.
     */
    Announcer(WorkerConfig config, EventPublisher events, Supplier<List<ServedModel>> served, String executionProvider,
            Supplier<String> state, Supplier<Integer> busyDevices, AdapterLibrary adapters,
            Supplier<Map<String, Integer>> warmDevices, Supplier<Map<String, Integer>> placedDevices,
            Supplier<Map<String, Integer>> loadingDevices, Supplier<List<Long>> deviceMemoryUsedMb) {
        this.config = config;
        this.events = events;
        this.served = served;
        this.executionProvider = executionProvider;
        this.state = state;
        this.busyDevices = busyDevices;
        this.adapters = adapters;
        this.warmDevices = warmDevices;
        this.placedDevices = placedDevices;
        this.loadingDevices = loadingDevices;
        this.deviceMemoryUsedMb = deviceMemoryUsedMb;
    }

    void start() {
        timer.scheduleAtFixedRate(this::announce, 0, config.heartbeatMillis(), TimeUnit.MILLISECONDS);
    }

    /** Announces now (also between heartbeats, when the state or the placement changes). */
    synchronized void announce() {
        List<ServedModel> models = served.get();
        Map<String, Integer> imageUpscalers = new java.util.TreeMap<>();
        Map<String, List<String>> schedulers = new java.util.TreeMap<>();
        for (ServedModel model : models) {
            schedulers.put(model.id(), model.schedulers());
            if (model.kind() == ModelKind.IMAGE_UPSCALER) {
                imageUpscalers.put(model.id(), model.upscaleFactor());
            }
        }
        List<String> upscalers = models.stream().filter(m -> m.kind() == ModelKind.DIFFUSION_UPSCALER)
                .map(ServedModel::id).toList();
        events.announce(new WorkerStatus(WorkerStatus.SCHEMA_VERSION, config.workerId(),
                models.stream().map(ServedModel::id).toList(), config.devices(), busyDevices.get(), executionProvider,
                state.get(), startedAtMillis, System.currentTimeMillis(), config.heartbeatMillis(),
                names(adapters::loraNames), names(adapters::embeddingWords), upscalers, imageUpscalers, schedulers,
                warmDevices.get(), config.deviceMemoryBytes() == Long.MAX_VALUE ? null
                        : config.deviceMemoryBytes() / (1024 * 1024), placedDevices.get(), loadingDevices.get(),
                deviceMemoryUsedMb.get()), () -> announced = true);
    }

    /** True once the broker has an announcement of this worker (so gateways route its models' jobs). */
    boolean hasAnnounced() {
        return announced;
    }

    /** The names a folder holds; none when it cannot be listed now (the next heartbeat tries again). */
    private static List<String> names(Supplier<List<String>> list) {
        try {
            return list.get();
        } catch (java.io.UncheckedIOException e) {
            return List.of();
        }
    }

    /** Stops announcing and withdraws the announcement. */
    @Override
    public void close() throws InterruptedException {
        timer.shutdownNow();
        timer.awaitTermination(5, TimeUnit.SECONDS);
        events.withdraw(config.workerId());
    }
}
