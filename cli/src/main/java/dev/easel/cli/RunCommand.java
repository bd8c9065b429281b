package dev.easel.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.contracts.FieldError;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import dev.easel.engine.pipeline.StepProgress;
import dev.easel.models.ModelGenerator;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** {@code easel run}: one generation on the local engine, images written as PNG files. */
final class RunCommand {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Set<String> OPTIONS = Set.of("model", "prompt", "negative-prompt", "steps", "guidance", "scheduler",
            "timestep-spacing", "seed", "width", "height", "num-images", "init-image", "strength", "out", "progress",
            "preview-every");
    static final Set<String> FLAGS = Set.of("karras");

    private final PrintStream out;
    private final PrintStream err;

    RunCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int run(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args, OPTIONS, FLAGS);
        if (!arguments.positional().isEmpty()) {
            throw new UsageException("unexpected argument '" + arguments.positional().get(0)
                    + "'; pass the prompt with --prompt \"...\"");
        }
        String prompt = arguments.value("prompt");
        if (prompt == null) {
            throw new UsageException("--prompt is required, e.g. easel run --prompt \"a red circle on a blue background\"");
        }
        String progressFormat = arguments.value("progress");
        if (progressFormat != null && !progressFormat.equals("jsonl")) {
            throw new UsageException("--progress supports only jsonl, got '" + progressFormat + "'");
        }
        GenerationRequest.Builder builder = GenerationRequest.builder(prompt)
                .negativePrompt(arguments.value("negative-prompt", ""))
                .size(arguments.intValue("width", 512), arguments.intValue("height", 512))
                .steps(arguments.intValue("steps", 20))
                .guidanceScale(arguments.doubleValue("guidance", 7.5))
                .scheduler(arguments.value("scheduler"))
                .karras(arguments.flag("karras"))
                .timestepSpacing(arguments.value("timestep-spacing"))
                .seed(arguments.longValue("seed"))
                .numImages(arguments.intValue("num-images", 1))
                .previewEvery(arguments.intValue("preview-every", 0));
        String initImage = arguments.value("init-image");
        if (initImage != null) {
            Path initPath = Path.of(initImage);
            if (!Files.isReadable(initPath)) {
                throw new InvalidRequestException("initImage", "file " + initPath + " cannot be read");
            }
            builder.initImage(Files.readAllBytes(initPath), arguments.doubleValue("strength", 0.8));
        } else if (arguments.value("strength") != null) {
            throw new UsageException("--strength needs --init-image");
        }
        GenerationRequest request = builder.build();
        List<FieldError> errors = request.validate();
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
        Path output = Path.of(arguments.value("out", "easel.png"));
        if (!output.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".png")) {
            throw new UsageException("--out must name a .png file, got '" + output + "'");
        }
        boolean jsonl = progressFormat != null;
        Path modelFolder = modelFolder(arguments.value("model"), err);
        try (ModelFolder model = ModelFolder.load(modelFolder, new OrtRuntime(RuntimeOptions.fromEnvironment()))) {
            StableDiffusionPipeline pipeline = new StableDiffusionPipeline(model);
            GenerationResult result = pipeline.generate(request, step -> report(step, jsonl), () -> false);
            List<Path> written = write(result, output);
            if (jsonl) {
                out.println(JSON.writeValueAsString(summary(result, written)));
            } else {
                err.println();
                for (Path path : written) {
                    out.println(path);
                }
            }
        }
        return 0;
    }

    /** The model folder to use: --model, else the generated toy model (made on first use). */
    static Path modelFolder(String option, PrintStream log) throws IOException {
        if (option != null) {
            return Path.of(option);
        }
        return EaselHome.generatedModel(ModelGenerator.Kind.TOY, log);
    }

    private void report(StepProgress step, boolean jsonl) {
        if (jsonl) {
            ObjectNode line = JSON.createObjectNode();
            line.put("image", step.imageIndex());
            line.put("step", step.step());
            line.put("total", step.total());
            line.put("timestep", step.timestep());
            if (step.hasSigma()) {
                line.put("sigma", step.sigma());
            }
            line.put("elapsedMillis", step.elapsedMillis());
            out.println(line);
        } else {
            err.print("\rimage " + (step.imageIndex() + 1) + ": step " + step.step() + "/" + step.total());
            err.flush();
        }
    }

    private static List<Path> write(GenerationResult result, Path output) throws IOException {
        List<Path> written = new ArrayList<>();
        Path parent = output.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        String name = output.getFileName().toString();
        String stem = name.substring(0, name.length() - 4);
        for (GenerationResult.GeneratedImage image : result.images()) {
            Path path = result.images().size() == 1 ? output : output.resolveSibling(stem + "-" + (image.index() + 1) + ".png");
            Files.write(path, image.png());
            written.add(path);
        }
        return written;
    }

    private static ObjectNode summary(GenerationResult result, List<Path> written) {
        ObjectNode summary = JSON.createObjectNode();
        summary.put("seed", result.seed());
        summary.put("scheduler", result.scheduler());
        summary.put("executionProvider", result.executionProvider());
        ArrayNode images = summary.putArray("images");
        for (int i = 0; i < written.size(); i++) {
            ObjectNode image = images.addObject();
            image.put("path", written.get(i).toString());
            image.put("seed", result.images().get(i).seed());
        }
        summary.set("timings", JSON.valueToTree(result.timings()));
        return summary;
    }
}
