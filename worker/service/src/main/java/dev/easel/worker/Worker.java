package dev.easel.worker;

import dev.easel.contracts.WorkerStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A worker of the pool: its devices, two queue slots per device, the storage threads and its announcements. It takes
 * jobs until {@link #drain} is called, then stops taking, lets running jobs finish for the grace period, and releases
 * what still runs back to the queue.
 */
final class Worker {
    private static final System.Logger LOG = System.getLogger(Worker.class.getName());

    private final WorkerConfig config;
    private final List<Device> devices;
    /** Devices generating now (an idle device may be held by a slot waiting for a job: that is not busy). */
    private final java.util.concurrent.atomic.AtomicInteger generating = new java.util.concurrent.atomic.AtomicInteger();
    private final List<QueueSlot> slots = new ArrayList<>();
    private final List<Thread> slotThreads = new ArrayList<>();
    private final ExecutorService storage;
    private final Announcer announcer;
    /** The models served now, in the configured order (the first is the gateway's default); store models join later. */
    private final java.util.concurrent.CopyOnWriteArrayList<ServedModel> served;
    private Placement placement;
    private volatile boolean taking = true;
    private volatile boolean releaseRequested;

    /** {@code handOver}: the share group's {@link QueueSetup#handOver}, which the slots wait after a placement move. */
    Worker(WorkerConfig config, Duration handOver, List<Device> devices, List<ServedModel> models,
            String executionProvider, JobRunner runner, EventPublisher events,
            dev.easel.engine.adapter.AdapterLibrary adapters) {
        this.config = config;
        this.devices = List.copyOf(devices);
        this.served = new java.util.concurrent.CopyOnWriteArrayList<>(models);
        this.storage = Executors.newFixedThreadPool(devices.size(), r -> {
            Thread thread = new Thread(r, "easel-storage");
            thread.setDaemon(true);
            return thread;
        });
        for (int i = 0; i < 2 * devices.size(); i++) {
            slots.add(new QueueSlot(QueueSlot.consumer(config, i), config, handOver, devices.get(i / 2), runner,
                    generating, storage, () -> taking, () -> releaseRequested));
        }
        this.announcer = new Announcer(config, events, () -> List.copyOf(served), executionProvider, this::state,
                this::busyDevices, adapters, this::warmDevices, this::placedDevices, this::loadingDevices,
                this::deviceMemoryUsedMb);
    }

    void start() {
        for (int i = 0; i < slots.size(); i++) {
            Thread thread = new Thread(slots.get(i), "easel-slot-" + i);
            slotThreads.add(thread);
            thread.start();
        }
        announcer.start();
        startPlacementIfNeeded();
    }

    /** The ids of the models served now. */
    List<String> modelIds() {
        return served.stream().map(ServedModel::id).toList();
    }

    /**
     * Serves {@code model} from now on (a model pushed to the store after the start, loaded once to check it): every
     * device that can take it beside what it serves takes its queue; otherwise placement gives it devices as its
     * queue asks.
     */
    synchronized void serve(ServedModel model) {
        if (served.stream().anyMatch(m -> m.id().equals(model.id()))) {
            return;
        }
        served.add(model);
        for (Device device : devices) {
            device.serveAlso(model.id());
        }
        startPlacementIfNeeded();
        announcer.announce();
    }

    private synchronized void startPlacementIfNeeded() {
        if (placement == null && taking && Placement.needed(devices, modelIds())) {
            placement = new Placement(config, devices, this::modelIds, announcer::announce);
            placement.start();
        }
    }

    /**
     * Ready once a slot polled the queue (the others join when a device is free for them) and the worker's
     * announcement is on the broker, so gateways accept jobs for its models.
     */
    boolean isReady() {
        return taking && announcer.hasAnnounced() && slots.stream().anyMatch(QueueSlot::hasPolled);
    }

    /** False when a slot thread died while the worker was taking jobs: the process should exit and be restarted. */
    boolean isHealthy() {
        return !taking || slotThreads.stream().allMatch(Thread::isAlive);
    }

    /** Per model, the devices that hold it now (a job for it starts there without loading). */
    java.util.Map<String, Integer> warmDevices() {
        java.util.Map<String, Integer> warm = new java.util.TreeMap<>();
        for (Device device : devices) {
            device.held().forEach(id -> warm.merge(id, 1, Integer::sum));
        }
        return warm;
    }

    /** Per model, the devices taking its queue (holding it, or placed to load it). */
    java.util.Map<String, Integer> placedDevices() {
        java.util.Map<String, Integer> placed = new java.util.TreeMap<>();
        for (Device device : devices) {
            device.serving().models().forEach(id -> placed.merge(id, 1, Integer::sum));
        }
        return placed;
    }

    /** Per model, the devices loading it now. */
    java.util.Map<String, Integer> loadingDevices() {
        java.util.Map<String, Integer> loading = new java.util.TreeMap<>();
        for (Device device : devices) {
            String model = device.models().loading();
            if (model != null) {
                loading.merge(model, 1, Integer::sum);
            }
        }
        return loading;
    }

    /** What each device's loaded models take, in MB, in device order. */
    List<Long> deviceMemoryUsedMb() {
        return devices.stream().map(d -> d.models().usedBytes() / (1024 * 1024)).toList();
    }

    /** Model loads done on all devices since the worker started. */
    int modelLoads() {
        return devices.stream().mapToInt(d -> d.models().loads()).sum();
    }

    int busyDevices() {
        return generating.get();
    }

    private String state() {
        if (!taking) {
            return WorkerStatus.DRAINING;
        }
        if (!isReady()) {
            return WorkerStatus.STARTING;
        }
        return busyDevices() > 0 ? WorkerStatus.BUSY : WorkerStatus.IDLE;
    }

    /** Stops taking jobs; running ones get {@code drainMillis} to finish, then go back to the queue. */
    void drain() throws InterruptedException {
        Placement running;
        synchronized (this) {
            taking = false;
            running = placement;
        }
        slots.forEach(QueueSlot::wake);
        if (running != null) {
            running.close();
        }
        announcer.announce();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.drainMillis());
        for (Thread thread : slotThreads) {
            thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        }
        if (slotThreads.stream().anyMatch(Thread::isAlive)) {
            LOG.log(System.Logger.Level.WARNING, "drain period over: releasing the jobs still running");
            releaseRequested = true;
            for (Thread thread : slotThreads) {
                thread.join();
            }
        }
        storage.shutdown();
        announcer.close();
        devices.forEach(Device::close);
    }
}
