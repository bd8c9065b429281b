package dev.easel.engine.adapter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The LoRA and embedding files a worker or {@code easel run} offers: {@code <lora dir>/<name>.safetensors} and
 * {@code <embeddings dir>/<word>.safetensors}. Files are read when first asked for and read again when they change.
 * Either folder may be absent (nothing offered).
 */
public final class AdapterLibrary {
    private static final String SUFFIX = ".safetensors";

    private final Path loraDir;
    private final Path embeddingsDir;
    private final Map<Path, Cached<LoraFile>> loras = new ConcurrentHashMap<>();
    private final Map<Path, Cached<Embedding>> embeddings = new ConcurrentHashMap<>();

    private record Cached<T>(long modifiedMillis, long size, T value) {
    }

    private interface Reader<T> {
        T read(String name, Path file) throws IOException;
    }

    /** A library over {@code loraDir} and {@code embeddingsDir}; either may be null. */
    public AdapterLibrary(Path loraDir, Path embeddingsDir) {
        this.loraDir = loraDir;
        this.embeddingsDir = embeddingsDir;
    }

    /** No LoRAs, no embeddings. */
    public static AdapterLibrary empty() {
        return new AdapterLibrary(null, null);
    }

    public Path loraDir() {
        return loraDir;
    }

    public Path embeddingsDir() {
        return embeddingsDir;
    }

    /** The LoRAs offered, by name, sorted. */
    public List<String> loraNames() {
        return names(loraDir, SUFFIX);
    }

    /** The embeddings' trigger words, sorted. */
    public List<String> embeddingWords() {
        return names(embeddingsDir, SUFFIX);
    }

    /** Embeddings in a format Easel cannot read (.pt, .bin), by trigger word: a prompt using one is refused. */
    public List<String> unreadableEmbeddingWords() {
        List<String> words = new ArrayList<>(names(embeddingsDir, ".pt"));
        words.addAll(names(embeddingsDir, ".bin"));
        return words;
    }

    /** LoRA {@code name}; an unknown one fails naming the LoRAs there are. */
    public LoraFile lora(String name) {
        Path file = loraDir == null ? null : loraDir.resolve(name + SUFFIX);
        if (file == null || !dev.easel.contracts.RequestLimits.isLoraName(name) || !Files.isRegularFile(file)) {
            throw new IllegalArgumentException("names an unknown LoRA '" + name + "'; " + (loraDir == null
                    ? "no LoRA folder is set (--lora-dir, EASEL_LORA_DIR)"
                    : "known: " + (loraNames().isEmpty() ? "none in " + loraDir : String.join(", ", loraNames()))));
        }
        return cached(loras, file, name, LoraFile::read);
    }

    /** Every readable embedding of the folder, by trigger word order. */
    public List<Embedding> embeddings() {
        List<Embedding> all = new ArrayList<>();
        for (String word : embeddingWords()) {
            all.add(cached(embeddings, embeddingsDir.resolve(word + SUFFIX), word, Embedding::read));
        }
        return all;
    }

    private static <T> T cached(Map<Path, Cached<T>> cache, Path file, String name, Reader<T> reader) {
        try {
            long modified = Files.getLastModifiedTime(file).toMillis();
            long size = Files.size(file);
            Cached<T> known = cache.get(file);
            if (known != null && known.modifiedMillis() == modified && known.size() == size) {
                return known.value();
            }
            T value = reader.read(name, file);
            cache.put(file, new Cached<>(modified, size, value));
            return value;
        } catch (IOException e) {
            throw new UncheckedIOException(file + " cannot be read: " + e.getMessage(), e);
        }
    }

    private static List<String> names(Path dir, String suffix) {
        if (dir == null || !Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(suffix))
                    .map(n -> n.substring(0, n.length() - suffix.length())).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(dir + " cannot be listed: " + e.getMessage(), e);
        }
    }
}
