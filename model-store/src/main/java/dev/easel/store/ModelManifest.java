package dev.easel.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * What the store holds of one model: its id (the folder name workers give it), its kind as the folder shows it, every
 * file with its size and SHA-256, and an estimate of the memory its weights take once loaded. Written last when a
 * model is pushed, so a model without one is not (yet) in the catalogue.
 */
public record ModelManifest(int schemaVersion, String id, String kind, List<File> files, long memoryEstimateMb,
        long pushedAtMillis) {
    public static final int SCHEMA_VERSION = 1;

    /** One file of the folder, by its path relative to the folder ('/'-separated). */
    public record File(String path, long bytes, String sha256) {
    }

    /** Bytes of all the files. */
    public long bytes() {
        return files.stream().mapToLong(File::bytes).sum();
    }

    /** The manifest of {@code folder} (symbolic links followed) under {@code id}; reads and hashes every file. */
    public static ModelManifest of(Path folder, String id) throws IOException {
        if (!Files.isDirectory(folder)) {
            throw new IllegalArgumentException("model folder " + folder + " does not exist");
        }
        List<File> files = new ArrayList<>();
        long weightBytes = 0;
        try (Stream<Path> walk = Files.walk(folder, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
            for (Path file : walk.filter(Files::isRegularFile).sorted().toList()) {
                String path = folder.relativize(file).toString().replace(java.io.File.separatorChar, '/');
                if (path.equals(ModelStore.MANIFEST) || path.startsWith(".")) {
                    continue;
                }
                long bytes = Files.size(file);
                files.add(new File(path, bytes, sha256(file)));
                if (isWeights(path)) {
                    weightBytes += bytes;
                }
            }
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("model folder " + folder + " is empty");
        }
        // Weights as loaded, plus a fifth for ONNX Runtime's session state (measured on the tiny models: 10-20 %).
        long memoryMb = (long) Math.ceil(weightBytes * 1.2 / (1024 * 1024));
        return new ModelManifest(SCHEMA_VERSION, id, kindOf(folder), List.copyOf(files), memoryMb,
                System.currentTimeMillis());
    }

    private static boolean isWeights(String path) {
        return path.endsWith(".onnx") || path.endsWith(".onnx_data") || path.endsWith(".pb")
                || path.endsWith(".safetensors") || path.endsWith(".bin");
    }

    /** What the folder is, as a worker would load it. */
    static String kindOf(Path folder) {
        if (Files.isRegularFile(folder.resolve("model.onnx")) && !Files.exists(folder.resolve("model_index.json"))) {
            return "image-upscaler";
        }
        if (Files.isRegularFile(folder.resolve("transformer/model.onnx"))) {
            return "sd3";
        }
        if (Files.isDirectory(folder.resolve("low_res_scheduler"))) {
            return "x4-upscaler";
        }
        return Files.isDirectory(folder.resolve("text_encoder_2")) ? "sdxl" : "stable-diffusion";
    }

    static String sha256(Path file) throws IOException {
        MessageDigest digest = digest();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int read = in.read(buffer); read > 0; read = in.read(buffer)) {
                digest.update(buffer, 0, read);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }
}
