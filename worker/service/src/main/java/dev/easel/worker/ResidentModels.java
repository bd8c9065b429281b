package dev.easel.worker;

import dev.easel.engine.model.ModelException;
import dev.easel.engine.pipeline.Pipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The models one device holds, within its memory budget. A model is loaded when a job needs it and the device does not
 * hold it; the least recently used are unloaded first to make room, never a pinned one (image upscalers: the other
 * models' hires fix holds them) and never under a running job (loads and unloads happen on the device's own thread,
 * between jobs). A model that failed to load is not tried again on this device for {@link #RETRY_AFTER_MILLIS}.
 */
final class ResidentModels implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ResidentModels.class.getName());
    /** How long a model that failed to load is refused on this device before it is tried again. */
    static final long RETRY_AFTER_MILLIS = 300_000;
    /** What a load is expected to take per MB of weights before one was measured (disk and session creation). */
    private static final double LOAD_MILLIS_PER_MB = 5;

    /** Loads one model folder into a pipeline for this device (warmed up, ready for jobs). */
    interface Loader {
        Pipeline load(Path folder);
    }

    /** A model this device can hold: its folder, what its weights take once loaded, whether it never leaves. */
    record Model(String id, Path folder, long estimateBytes, boolean pinned) {
        /** The weights' files and a fifth more for ONNX Runtime's session state. */
        static long estimateBytes(Path folder) {
            try (Stream<Path> files = Files.walk(folder, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
                long bytes = 0;
                for (Path file : files.filter(Files::isRegularFile).toList()) {
                    String name = file.getFileName().toString();
                    if (name.endsWith(".onnx") || name.endsWith(".onnx_data") || name.endsWith(".pb")) {
                        bytes += Files.size(file);
                    }
                }
                return (long) (bytes * 1.2);
            } catch (java.io.IOException e) {
                throw new ModelException(folder + ": cannot read its files: " + e.getMessage(), e);
            }
        }
    }

    private final Map<String, Model> models;
    private final Loader loader;
    private final long budgetBytes;
    /** Loaded pipelines in access order: the first is the least recently used. */
    private final LinkedHashMap<String, Pipeline> loaded = new LinkedHashMap<>(16, 0.75f, true);
    private final Map<String, Long> loadMillis = new HashMap<>();
    private final Map<String, Long> failedAtMillis = new HashMap<>();
    /** The models the device is placed to serve; others it holds are unloaded first when room is needed. */
    private java.util.Set<String> wanted = java.util.Set.of();
    /** Written only under the lock, read without it: a heartbeat must not wait for a load to end. */
    private volatile long usedBytes;
    private volatile String loading;
    private int loads;

    ResidentModels(List<Model> models, Loader loader, long budgetBytes) {
        this.models = new LinkedHashMap<>();
        models.forEach(model -> this.models.put(model.id(), model));
        this.loader = loader;
        this.budgetBytes = budgetBytes;
    }

    /** Whether the device holds {@code id} now (a job for it starts without loading). */
    synchronized boolean holds(String id) {
        return loaded.containsKey(id);
    }

    /** The models the device holds now. */
    synchronized List<String> held() {
        return List.copyOf(loaded.keySet());
    }

    long usedBytes() {
        return usedBytes;
    }

    /** The model being loaded now, or null. */
    String loading() {
        return loading;
    }

    long budgetBytes() {
        return budgetBytes;
    }

    /** Loads done since the worker started (the ones at start-up included). */
    synchronized int loads() {
        return loads;
    }

    /** How long loading {@code id} is expected to take: its last load here, else an estimate from its size. */
    synchronized long expectedLoadMillis(String id) {
        Model model = models.get(id);
        return loadMillis.getOrDefault(id, model == null ? 0
                : (long) (model.estimateBytes() / (1024.0 * 1024.0) * LOAD_MILLIS_PER_MB));
    }

    /** The pipeline of {@code id}, loaded (room made first) when the device does not hold it; null if not served. */
    synchronized Pipeline get(String id) {
        Pipeline pipeline = loaded.get(id);
        if (pipeline != null || !models.containsKey(id)) {
            return pipeline;
        }
        Model model = models.get(id);
        Long failed = failedAtMillis.get(id);
        if (failed != null && System.currentTimeMillis() - failed < RETRY_AFTER_MILLIS) {
            throw new ModelException("model " + id + " failed to load on this device "
                    + (System.currentTimeMillis() - failed) / 1000 + " s ago; it is tried again after "
                    + RETRY_AFTER_MILLIS / 1000 + " s");
        }
        makeRoom(model);
        long start = System.nanoTime();
        loading = id;
        try {
            pipeline = loader.load(model.folder());
        } catch (RuntimeException e) {
            failedAtMillis.put(id, System.currentTimeMillis());
            throw e instanceof ModelException m ? m : new ModelException("model " + id + " could not be loaded: "
                    + e.getClass().getSimpleName() + ": " + e.getMessage(), e);
        } finally {
            loading = null;
        }
        failedAtMillis.remove(id);
        long millis = (System.nanoTime() - start) / 1_000_000;
        loadMillis.put(id, millis);
        loaded.put(id, pipeline);
        usedBytes += model.estimateBytes();
        loads++;
        LOG.log(System.Logger.Level.INFO, "loaded model " + id + " in " + millis + " ms (about "
                + model.estimateBytes() / (1024 * 1024) + " MB; " + usedBytes / (1024 * 1024) + " of "
                + (budgetBytes == Long.MAX_VALUE ? "unbounded" : budgetBytes / (1024 * 1024) + " MB") + " used)");
        return pipeline;
    }

    /** The models this device can be asked to hold. */
    synchronized List<String> ids() {
        return List.copyOf(models.keySet());
    }

    /** Adds a model the device can be asked to hold (one that joined the worker after the start). */
    synchronized void add(Model model) {
        models.putIfAbsent(model.id(), model);
    }

    /** Whether this device can hold {@code id} at all (it is served, and alone with the pinned ones fits the budget). */
    synchronized boolean canHold(String id) {
        Model model = models.get(id);
        if (model == null) {
            return false;
        }
        long pinned = models.values().stream().filter(Model::pinned).filter(m -> !m.id().equals(id))
                .mapToLong(Model::estimateBytes).sum();
        return model.estimateBytes() + pinned <= budgetBytes;
    }

    /** The models the device is placed to serve: when room is needed, held models outside them are unloaded first. */
    synchronized void want(java.util.Set<String> ids) {
        wanted = java.util.Set.copyOf(ids);
    }

    /**
     * The models the device serves once {@code coming} joins {@code serving}: the pinned ones, {@code coming}, then
     * as many of the rest as fit within the budget, most recently used first.
     */
    synchronized java.util.Set<String> servingWith(String coming, java.util.Collection<String> serving) {
        java.util.Set<String> kept = new java.util.LinkedHashSet<>();
        long bytes = 0;
        for (Model model : models.values()) {
            if (model.pinned() && !model.id().equals(coming)) {
                kept.add(model.id());
                bytes += model.estimateBytes();
            }
        }
        kept.add(coming);
        bytes += models.get(coming).estimateBytes();
        List<String> recentFirst = new ArrayList<>(loaded.keySet());
        java.util.Collections.reverse(recentFirst);
        serving.stream().filter(id -> !recentFirst.contains(id)).forEach(recentFirst::add);
        for (String id : recentFirst) {
            Model model = models.get(id);
            if (serving.contains(id) && !kept.contains(id) && bytes + model.estimateBytes() <= budgetBytes) {
                kept.add(id);
                bytes += model.estimateBytes();
            }
        }
        return kept;
    }

    /** Whether {@code id} fits beside what the device holds (counting what unloading unpinned models frees). */
    synchronized boolean fitsNow(String id) {
        Model model = models.get(id);
        return model != null && usedBytes + model.estimateBytes() <= budgetBytes;
    }

    private void makeRoom(Model coming) {
        if (coming.estimateBytes() > budgetBytes) {
            throw new ModelException("model " + coming.id() + " needs about " + coming.estimateBytes() / (1024 * 1024)
                    + " MB, more than this device's budget of " + budgetBytes / (1024 * 1024)
                    + " MB (EASEL_DEVICE_MEMORY_MB)");
        }
        // Least recently used first, and models the device is no longer placed to serve before those it is.
        List<String> byPreference = new ArrayList<>(loaded.keySet());
        byPreference.sort(java.util.Comparator.comparing(wanted::contains));
        for (String id : byPreference) {
            if (usedBytes + coming.estimateBytes() <= budgetBytes) {
                return;
            }
            if (!models.get(id).pinned()) {
                unload(id);
            }
        }
        if (usedBytes + coming.estimateBytes() > budgetBytes) {
            throw new ModelException("model " + coming.id() + " (about " + coming.estimateBytes() / (1024 * 1024)
                    + " MB) does not fit beside this device's pinned models (" + usedBytes / (1024 * 1024) + " of "
                    + budgetBytes / (1024 * 1024) + " MB): raise EASEL_DEVICE_MEMORY_MB");
        }
    }

    private void unload(String id) {
        Pipeline pipeline = loaded.remove(id);
        usedBytes -= models.get(id).estimateBytes();
        try {
            pipeline.close();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "unloading model " + id + ": " + e.getMessage());
        }
        LOG.log(System.Logger.Level.INFO, "unloaded model " + id + " to make room");
    }

    @Override
    public synchronized void close() {
        for (String id : new ArrayList<>(loaded.keySet())) {
            try {
                loaded.remove(id).close();
            } catch (RuntimeException e) {
                // the process is ending; nothing is left to release
            }
        }
    }
}
