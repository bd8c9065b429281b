package dev.easel.worker;

import dev.easel.contracts.WorkerStatus;
import dev.easel.engine.adapter.AdapterLibrary;
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
    private final List<String> models;
    private final String executionProvider;
    private final Supplier<String> state;
    private final Supplier<Integer> busyDevices;
    private final AdapterLibrary adapters;
    private final List<String> upscalers;
    private final Map<String, Integer> imageUpscalers;
    private final Map<String, List<String>> schedulers;
    private final Supplier<Map<String, Integer>> warmDevices;
    private final Supplier<Map<String, Integer>> placedDevices;
    private final long startedAtMillis = System.currentTimeMillis();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "easel-announcer");
        thread.setDaemon(true);
        return thread;
    });

    /**
     * {@code adapters}: the LoRAs and embeddings announced (read at every heartbeat: files added later show);
     * {@code upscalers} the x4 upscalers among {@code models}, {@code imageUpscalers} the image upscalers with their
     * factors, {@code schedulers} what each model takes, {@code warmDevices} which devices hold which model now.
     */
    Announcer(WorkerConfig config, EventPublisher events, List<String> models, String executionProvider,
            Supplier<String> state, Supplier<Integer> busyDevices, AdapterLibrary adapters, List<String> upscalers,
            Map<String, Integer> imageUpscalers, Map<String, List<String>> schedulers,
            Supplier<Map<String, Integer>> warmDevices, Supplier<Map<String, Integer>> placedDevices) {
        this.config = config;
        this.events = events;
        this.models = List.copyOf(models);
        this.executionProvider = executionProvider;
        this.state = state;
        this.busyDevices = busyDevices;
        this.adapters = adapters;
        this.upscalers = List.copyOf(upscalers);
        this.imageUpscalers = Map.copyOf(imageUpscalers);
        this.schedulers = Map.copyOf(schedulers);
        this.warmDevices = warmDevices;
        this.placedDevices = placedDevices;
    }

    void start() {
        timer.scheduleAtFixedRate(this::announce, 0, config.heartbeatMillis(), TimeUnit.MILLISECONDS);
    }

    /** Announces now (also between heartbeats, when the state or the placement changes). */
    synchronized void announce() {
        events.announce(new WorkerStatus(WorkerStatus.SCHEMA_VERSION, config.workerId(), models, config.devices(),
                busyDevices.get(), executionProvider, state.get(), startedAtMillis, System.currentTimeMillis(),
                config.heartbeatMillis(), names(adapters::loraNames), names(adapters::embeddingWords),
                upscalers, imageUpscalers, schedulers, warmDevices.get(),
                config.deviceMemoryBytes() == Long.MAX_VALUE ? null : config.deviceMemoryBytes() / (1024 * 1024),
                placedDevices.get()));
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
