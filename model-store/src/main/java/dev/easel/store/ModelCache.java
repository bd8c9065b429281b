package dev.easel.store;

import dev.easel.contracts.Json;
import java.io.IOException;
import java.nio.file.attribute.FileTime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * A worker's disk copy of store models, bounded by {@code maxBytes}: {@code <dir>/<id>/} holds a model whose every
 * file was verified against its manifest (kept beside it). A model is downloaded into a hidden folder and renamed into
 * place only when complete, so a partly downloaded model is never served; the least recently used models not in use
 * are deleted to make room.
 */
public final class ModelCache {
    private static final String LAST_USED = ".last-used";

    private final Path dir;
    private final long maxBytes;
    private final ModelStore store;
    private final Set<String> inUse = ConcurrentHashMap.newKeySet();

    /** How a model got into place: from the cache as it was, or downloaded (with how long that took). */
    public record Fetched(Path folder, ModelManifest manifest, boolean downloaded, long downloadMillis) {
    }

    public ModelCache(Path dir, long maxBytes, ModelStore store) {
        this.dir = dir;
        this.maxBytes = maxBytes;
        this.store = store;
    }

    /**
     * The folder of model {@code id} as the store has it now: the cached copy when its manifest matches, else a fresh,
     * verified download. The model counts as in use (never evicted) until {@link #release}.
     */
    public synchronized Fetched fetch(String id) throws IOException {
        ModelManifest wanted = store.manifest(id).orElseThrow(() -> new IllegalArgumentException("model '" + id
                + "' is not in the model store (bucket " + store.bucket() + "): push it with ./easel models push DIR"
                + " --id " + id));
        Path folder = dir.resolve(id);
        inUse.add(id);
        if (matches(folder, wanted)) {
            Files.setLastModifiedTime(touch(folder), FileTime.fromMillis(System.currentTimeMillis()));
            return new Fetched(folder, wanted, false, 0);
        }
        long start = System.nanoTime();
        makeRoom(wanted.bytes(), id);
        Path partial = dir.resolve(".partial-" + id + "-" + System.nanoTime());
        try {
            for (ModelManifest.File file : wanted.files()) {
                store.download(id, file, partial.resolve(file.path()));
            }
            Files.write(partial.resolve(ModelStore.MANIFEST), Json.bytes(wanted));
            touch(partial);
            deleteTree(folder);
            Files.move(partial, folder, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            deleteTree(partial);
        }
        return new Fetched(folder, wanted, true, (System.nanoTime() - start) / 1_000_000);
    }

    /** Model {@code id} may be evicted again. */
    public void release(String id) {
        inUse.remove(id);
    }

    /** Bytes the cached models take. */
    public long usedBytes() throws IOException {
        long total = 0;
        for (Path model : cached()) {
            total += size(model);
        }
        return total;
    }

    private boolean matches(Path folder, ModelManifest wanted) throws IOException {
        Path manifest = folder.resolve(ModelStore.MANIFEST);
        if (!Files.isRegularFile(manifest)) {
            return false;
        }
        ModelManifest cached = Json.read(Files.readAllBytes(manifest), ModelManifest.class);
        if (!cached.files().equals(wanted.files())) {
            return false;
        }
        for (ModelManifest.File file : cached.files()) {
            Path path = folder.resolve(file.path());
            if (!Files.isRegularFile(path) || Files.size(path) != file.bytes()) {
                return false;
            }
        }
        return true;
    }

    private void makeRoom(long bytes, String coming) throws IOException {
        if (bytes > maxBytes) {
            throw new IOException("model " + coming + " takes " + bytes / (1024 * 1024) + " MB, more than the whole"
                    + " cache (EASEL_MODEL_CACHE_MB " + maxBytes / (1024 * 1024) + "): raise it");
        }
        List<Path> byAge = new ArrayList<>(cached());
        byAge.sort(Comparator.comparing(ModelCache::lastUsed));
        long used = usedBytes();
        for (Path model : byAge) {
            if (used + bytes <= maxBytes) {
                return;
            }
            String id = model.getFileName().toString();
            if (!inUse.contains(id) && !id.equals(coming)) {
                used -= size(model);
                deleteTree(model);
            }
        }
        if (used + bytes > maxBytes) {
            throw new IOException("the model cache (" + maxBytes / (1024 * 1024) + " MB) has no room for model "
                    + coming + " (" + bytes / (1024 * 1024) + " MB) beside the models in use: raise"
                    + " EASEL_MODEL_CACHE_MB");
        }
    }

    private List<Path> cached() throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith("."))
                    .toList();
        }
    }

    private static Path touch(Path folder) throws IOException {
        Path marker = folder.resolve(LAST_USED);
        if (!Files.exists(marker)) {
            Files.createDirectories(folder);
            Files.createFile(marker);
        }
        return marker;
    }

    private static FileTime lastUsed(Path folder) {
        try {
            return Files.getLastModifiedTime(folder.resolve(LAST_USED));
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }

    private static long size(Path folder) throws IOException {
        try (Stream<Path> walk = Files.walk(folder)) {
            long total = 0;
            for (Path file : walk.filter(Files::isRegularFile).toList()) {
                total += Files.size(file);
            }
            return total;
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
