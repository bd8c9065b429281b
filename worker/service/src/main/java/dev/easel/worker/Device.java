package dev.easel.worker;

import dev.easel.engine.pipeline.Pipeline;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * One GPU (or the CPU): the models it holds within its memory budget, the models whose queues it takes (its placement:
 * what it holds at start, then what {@link Placement} moves it to), and the thread that runs generations (and model
 * loads) on it, so the thread holding the job's lease stays free to renew it. Its two queue slots take it in turn
 * from {@link #idle()}.
 */
final class Device implements AutoCloseable {
    private final int index;
    private final ResidentModels models;
    private final ExecutorService thread;
    /** When the device's last generation ended (0: none yet); read and written by the slots that take it in turn. */
    private volatile long idleSinceNanos;
    private volatile boolean generating;
    /** Holds the device while no slot has it: a slot takes it, leases a job for it, and gives it back. */
    private final BlockingQueue<Device> idle = new ArrayBlockingQueue<>(1, true);
    private volatile Serving serving;
    /** Wakes the slots waiting for a job on the queues the device served before a move. */
    private final List<Runnable> onMove = new CopyOnWriteArrayList<>();
    /** How long the device's last leases took, newest at {@link #leases} modulo the length. */
    private final long[] leaseMillis = new long[16];
    private int leases;

    /**
     * The models whose queues the device takes; {@code version} changes with them, {@code sinceMillis} 0 at start;
     * {@code settle}: the slots wait for the share group to take the old queues away before they poll (a model left
     * behind still had jobs).
     */
    record Serving(Set<String> models, int version, long sinceMillis, boolean settle) {
    }

    Device(int index, ResidentModels models) {
        this.index = index;
        this.models = models;
        this.serving = new Serving(Set.copyOf(models.held()), 0, 0, false);
        models.want(serving.models());
        idle.add(this);
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "easel-device-" + index);
            t.setDaemon(true);
            return t;
        });
    }

    int index() {
        return index;
    }

    /**
     * The pipeline of {@code modelId}, loaded first when the device does not hold it (call on the device's thread);
     * null when this worker does not serve the model.
     */
    Pipeline pipeline(String modelId) {
        return models.get(modelId);
    }

    /** Whether a job for {@code modelId} starts without loading its model. */
    boolean holds(String modelId) {
        return models.holds(modelId);
    }

    /** What loading {@code modelId} is expected to take, in milliseconds. */
    long expectedLoadMillis(String modelId) {
        return models.expectedLoadMillis(modelId);
    }

    /** The models the device holds now. */
    List<String> held() {
        return models.held();
    }

    Serving serving() {
        return serving;
    }

    /**
     * Takes {@code model}'s queue from now on, beside as many of the models it serves as fit with it (the others' queues
     * it leaves, and unloads them first when it loads {@code model}); {@code leavesJobs}: a model it leaves still has
     * jobs.
     */
    synchronized void place(String model, boolean leavesJobs) {
        Set<String> next = models.servingWith(model, serving.models());
        models.want(next);
        serving = new Serving(Set.copyOf(next), serving.version() + 1, System.currentTimeMillis(), leavesJobs);
        onMove.forEach(Runnable::run);
    }

    /**
     * Takes {@code model}'s queue too when it fits beside every model the device serves (a model that joined the
     * worker after the start); else leaves it to placement.
     */
    synchronized void serveAlso(String model) {
        Set<String> with = models.servingWith(model, serving.models());
        if (with.containsAll(serving.models())) {
            models.want(with);
            serving = new Serving(Set.copyOf(with), serving.version() + 1, serving.sinceMillis(), false);
            onMove.forEach(Runnable::run);
        }
    }

    /** Runs {@code wake} whenever the models the device serves change. */
    void onMove(Runnable wake) {
        onMove.add(wake);
    }

    /**
     * Records how long a lease took: from fetching the job to its being ready to start, with one more broker round
     * trip for the fetch itself (the renewal's, which the slot times).
     */
    synchronized void leased(long millis) {
        leaseMillis[leases++ % leaseMillis.length] = millis;
    }

    /**
     * How long before its job ends the device is offered for the next: {@code atLeastMillis} (EASEL_RESERVE_AHEAD_MS),
     * or the longest of its last leases when that is longer, so the next job is ready when the device is free even on a
     * busy broker or starved cores; a shorter reserve would idle the device for the rest of the lease.
     */
    synchronized long reserveAheadMillis(long atLeastMillis) {
        long longest = atLeastMillis;
        for (int i = 0; i < Math.min(leases, leaseMillis.length); i++) {
            longest = Math.max(longest, leaseMillis[i]);
        }
        return longest;
    }

    /** The device while no slot holds it (a queue of at most one). */
    BlockingQueue<Device> idle() {
        return idle;
    }

    boolean isGenerating() {
        return generating;
    }

    void generationStarted() {
        generating = true;
    }

    ResidentModels models() {
        return models;
    }

    ExecutorService thread() {
        return thread;
    }

    /** Milliseconds since the previous generation ended, or null before the first. */
    Long idleMillis() {
        long since = idleSinceNanos;
        return since == 0 ? null : (System.nanoTime() - since) / 1_000_000;
    }

    void generationEnded() {
        generating = false;
        idleSinceNanos = System.nanoTime();
    }

    @Override
    public void close() {
        // A model must not be closed under a generation still running on it (ONNX Runtime would crash).
        thread.shutdownNow();
        try {
            thread.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        models.close();
    }
}
