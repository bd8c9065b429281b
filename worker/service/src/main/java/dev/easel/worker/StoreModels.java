package dev.easel.worker;

import dev.easel.store.ModelCache;
import dev.easel.store.ModelManifest;
import dev.easel.store.ModelStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The models a worker serves from the model store ({@code EASEL_STORE_MODELS}): each fetched into the verified disk
 * cache (downloaded when the cache lacks it or the store has a newer push) before the worker starts, and, when the
 * worker serves the whole store ({@code all}), the models pushed later: the catalogue is read every
 * {@link #WATCH_MILLIS}, and each new model is fetched and handed to the worker.
 */
final class StoreModels implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(StoreModels.class.getName());
    static final long WATCH_MILLIS = 10_000;

    private final WorkerConfig.StoreSettings settings;
    private final ModelStore store;
    private final ModelCache cache;
    /** The manifests of the models fetched (or refused) so far, so each push is tried once. */
    private final Map<String, ModelManifest> seen = new HashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "easel-store-watch");
        thread.setDaemon(true);
        return thread;
    });

    StoreModels(WorkerConfig config) {
        this.settings = config.store();
        this.store = new ModelStore(config.s3Endpoint(), config.s3AccessKey(), config.s3SecretKey(),
                settings.bucket());
        this.cache = new ModelCache(settings.cacheDir(), settings.cacheMegabytes() * 1024 * 1024, store);
    }

    /**
     * The folders of the store models to serve from the start, each verified in the cache; logs where each came from
     * and what it cost.
     */
    List<Path> fetchAtStart(boolean hasModelFolders) throws IOException {
        if (settings.models().isEmpty()) {
            return List.of();
        }
        List<ModelManifest> catalogue = settings.all() ? store.catalogue() : List.of();
        List<String> ids = settings.all() ? catalogue.stream().map(ModelManifest::id).toList() : settings.models();
        if (ids.isEmpty() && !hasModelFolders) {
            throw new IllegalArgumentException("EASEL_STORE_MODELS is all, and the model store (bucket "
                    + settings.bucket() + ") holds no model: push one with ./easel models push DIR");
        }
        List<Path> folders = new ArrayList<>();
        for (String id : ids) {
            folders.add(fetch(id).folder());
        }
        return folders;
    }

    /**
     * With {@code EASEL_STORE_MODELS=all}: from now on, hands every model pushed to the store after the start to
     * {@code arrived} once it is in the cache (a model the worker refuses stays refused until it is pushed again).
     */
    void watch(Consumer<Path> arrived) {
        if (!settings.all()) {
            return;
        }
        timer.scheduleWithFixedDelay(() -> {
            try {
                for (ModelManifest manifest : store.catalogue()) {
                    ModelManifest known = seen.get(manifest.id());
                    if (known != null) {
                        if (known.pushedAtMillis() != manifest.pushedAtMillis()) {
                            LOG.log(System.Logger.Level.WARNING, "model " + manifest.id() + " was pushed again: this"
                                    + " worker keeps serving the copy it loaded; restart it to serve the new one");
                            seen.put(manifest.id(), manifest);
                        }
                        continue;
                    }
                    try {
                        arrived.accept(fetch(manifest.id()).folder());
                    } catch (IOException | RuntimeException e) {
                        seen.put(manifest.id(), manifest);
                        LOG.log(System.Logger.Level.ERROR, "model " + manifest.id() + " pushed to the store is not"
                                + " served: " + e.getMessage());
                    }
                }
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "the model store's catalogue could not be read (tried again in "
                        + WATCH_MILLIS / 1000 + " s): " + e.getMessage());
            }
        }, WATCH_MILLIS, WATCH_MILLIS, TimeUnit.MILLISECONDS);
    }

    private ModelCache.Fetched fetch(String id) throws IOException {
        ModelCache.Fetched fetched = cache.fetch(id);
        seen.put(id, fetched.manifest());
        LOG.log(System.Logger.Level.INFO, "model " + id + " (" + fetched.manifest().bytes() / (1024 * 1024)
                + " MB): " + (fetched.downloaded() ? "downloaded and verified in " + fetched.downloadMillis()
                + " ms" : "verified copy from the cache") + " at " + fetched.folder());
        return fetched;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
