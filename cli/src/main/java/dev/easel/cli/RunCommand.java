package dev.easel.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.contracts.FieldError;
import dev.easel.contracts.JobRequest;
import dev.easel.engine.adapter.AdapterLibrary;
import dev.easel.engine.model.ImageUpscaler;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.Pipeline;
import dev.easel.engine.pipeline.StepProgress;
import dev.easel.models.ModelGenerator;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code easel run}: one generation on the local engine, images written as PNG files. */
final class RunCommand {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> OPTIONS = union(RequestOptions.OPTIONS, Set.of("model", "prompt", "out", "progress",
            "lora-dir", "embeddings-dir"));

    private final PrintStream out;
    private final PrintStream err;

    RunCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int run(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args, OPTIONS, RequestOptions.FLAGS);
        if (!arguments.positional().isEmpty()) {
            throw new UsageException("unexpected argument '" + arguments.positional().get(0)
                    + "'; pass the prompt with --prompt \"...\"");
        }
        String progressFormat = arguments.value("progress");
        if (progressFormat != null && !progressFormat.equals("jsonl")) {
            throw new UsageException("--progress supports only jsonl, got '" + progressFormat + "'");
        }
        Path modelFolder = modelFolder(arguments.value("model"), err);
        boolean imageUpscaler = ImageUpscaler.isUpscalerFolder(modelFolder);
        String prompt = arguments.value("prompt", imageUpscaler ? "" : null);
        if (prompt == null) {
            throw new UsageException("--prompt is required, e.g. easel run --prompt \"a red circle on a blue background\"");
        }
        JobRequest job = RequestOptions.parse(arguments, prompt);
        // --hires-upscaler may name an image upscaler's folder: the request then names that model by its id.
        Path hiresUpscaler = job.hires() != null && job.hires().upscaler() != null
                && !JobRequest.Hires.UPSCALERS.contains(job.hires().upscaler())
                && Files.isDirectory(Path.of(job.hires().upscaler())) ? Path.of(job.hires().upscaler()) : null;
        if (hiresUpscaler != null) {
            JobRequest.Hires hires = job.hires();
            job = job.toBuilder().hires(new JobRequest.Hires(hires.scale(),
                    hiresUpscaler.toAbsolutePath().normalize().getFileName().toString(), hires.steps(),
                    hires.denoise())).build();
        }
        List<FieldError> errors = job.validate();
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors); // before the model loads
        }
        GenerationRequest request = GenerationRequest.from(job);
        Path output = RequestOptions.outputOption(arguments);
        boolean jsonl = progressFormat != null;
        OrtRuntime runtime = new OrtRuntime(RuntimeOptions.fromEnvironment());
        Map<String, ImageUpscaler> upscalers = new HashMap<>();
        if (hiresUpscaler != null) {
            ImageUpscaler upscaler = ImageUpscaler.load(hiresUpscaler, runtime);
            upscalers.put(upscaler.name(), upscaler);
        }
        try (Pipeline pipeline = Pipeline.load(modelFolder, runtime, adapterLibrary(arguments, modelFolder),
                upscalers)) {
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
        } finally {
            for (ImageUpscaler upscaler : upscalers.values()) {
                upscaler.close();
            }
        }
        return 0;
    }

    /**
     * The LoRAs and embeddings {@code run} offers: --lora-dir and --embeddings-dir, else the folders loras/ and
     * embeddings/ beside the model folder (as a worker's defaults), when they exist.
     */
    static AdapterLibrary adapterLibrary(Arguments arguments, Path modelFolder) {
        Path beside = modelFolder.toAbsolutePath().normalize().getParent();
        return new AdapterLibrary(folder(arguments.value("lora-dir"), beside, "loras"),
                folder(arguments.value("embeddings-dir"), beside, "embeddings"));
    }

    private static Path folder(String option, Path beside, String name) {
        if (option != null) {
            Path folder = Path.of(option);
            if (!Files.isDirectory(folder)) {
                throw new UsageException("folder " + folder + " does not exist");
            }
            return folder;
        }
        return beside == null ? null : beside.resolve(name);
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
            if (step.pass() > 0) {
                line.put("pass", step.pass());
            }
            out.println(line);
        } else {
            err.print("\rimage " + (step.imageIndex() + 1) + ": step " + step.step() + "/" + step.total());
            err.flush();
        }
    }

    static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new java.util.HashSet<>(a);
        all.addAll(b);
        return all;
    }

    private static List<Path> write(GenerationResult result, Path output) throws IOException {
        List<Path> written = new ArrayList<>();
        Files.createDirectories(output.toAbsolutePath().getParent());
        for (GenerationResult.GeneratedImage image : result.images()) {
            Path path = RequestOptions.outputFor(output, image.index(), result.images().size());
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
