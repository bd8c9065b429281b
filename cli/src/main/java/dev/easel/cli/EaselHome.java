package dev.easel.cli;

import dev.easel.models.ModelGenerator;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where Easel keeps its state: {@code EASEL_HOME}, set by the launcher to {@code .easel/} in the checkout. */
final class EaselHome {
    private EaselHome() {
    }

    static Path folder() {
        String home = System.getenv("EASEL_HOME");
        return Path.of(home == null || home.isBlank() ? ".easel" : home);
    }

    /** The generated model of {@code kind} under the home folder, made on first use. */
    static Path generatedModel(ModelGenerator.Kind kind, PrintStream log) throws IOException {
        Path folder = folder().resolve("models").resolve(kind.name().toLowerCase(java.util.Locale.ROOT));
        String marker = kind == ModelGenerator.Kind.ESRGAN ? "model.onnx" : "unet/model.onnx";
        if (!Files.isRegularFile(folder.resolve(marker))) {
            log.println("Generating the " + kind.name().toLowerCase(java.util.Locale.ROOT) + " model in " + folder
                    + " (first use)...");
            ModelGenerator.write(ModelGenerator.Spec.of(kind), folder);
        }
        return folder;
    }
}
