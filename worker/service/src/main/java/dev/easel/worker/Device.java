package dev.easel.worker;

import dev.easel.engine.pipeline.Pipeline;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * One GPU (or the CPU): a pipeline per model the worker serves, and the thread that runs generations on it, so the
 * thread holding the job's lease stays free to renew it.
 */
final class Device implements AutoCloseable {
    private final int index;
    private final Map<String, Pipeline> pipelines;
    private final ExecutorService thread;
    /** When the device's last generation ended (0: none yet); read and written by the slots that take it in turn. */
    private volatile long idleSinceNanos;

    Device(int index, Map<String, Pipeline> pipelines) {
        this.index = index;
        this.pipelines = Map.copyOf(pipelines);
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "easel-device-" + index);
            t.setDaemon(true);
            return t;
        });
    }

    int index() {
        return index;
    }

    /** The pipeline of {@code modelId}, or null when this worker does not serve it. */
    Pipeline pipeline(String modelId) {
        return pipelines.get(modelId);
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
        for (Pipeline pipeline : pipelines.values()) {
            try {
                pipeline.close();
            } catch (RuntimeException e) {
                // the process is ending; nothing is left to release
            }
        }
    }
}
