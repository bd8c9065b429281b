package dev.easel.engine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds the project's read-only shared material ({@code ../shared} beside the checkout: the real CLIP tokenizer files
 * and the conformance data). {@code EASEL_SHARED} names the folder explicitly; otherwise every ancestor of the working
 * directory is tried for a {@code shared/} folder.
 */
public final class SharedData {
    private SharedData() {
    }

    public static Optional<Path> folder() {
        String explicit = System.getenv("EASEL_SHARED");
        if (explicit != null && !explicit.isBlank()) {
            Path path = Path.of(explicit);
            return Files.isDirectory(path) ? Optional.of(path) : Optional.empty();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("shared");
            if (Files.isDirectory(candidate.resolve("clip-tokenizer")) || Files.isDirectory(candidate.resolve("conformance"))) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** A file under the shared folder, if the folder and the file exist. */
    public static Optional<Path> file(String relative) {
        return folder().map(dir -> dir.resolve(relative)).filter(Files::isRegularFile);
    }
}
