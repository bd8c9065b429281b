package dev.easel.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.engine.SharedData;
import dev.easel.engine.adapter.AdapterLibrary;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code easel bench lora}: what LoRAs cost a worker that keeps its model loaded. Runs the same job without a LoRA,
 * with LoRA A for the first time (the weight index read and the patched session built), with A again, with LoRA B
 * (a switch), with A again (a switch back) and without (back on the base session), and reports each one's time in
 * the text phase (where the patch is applied) and per denoising step, and the memory the patched weights hold. The
 * default is the parity fixture's model and LoRAs in ../shared/parity; the last stdout line is one JSON object.
 */
final class BenchLora {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PrintStream out;

    BenchLora(PrintStream out) {
        this.out = out;
    }

    int run(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args, Set.of("model", "lora-dir", "lora", "steps", "size", "runs"),
                Set.of());
        Path model = arguments.value("model") != null ? Path.of(arguments.value("model"))
                : SharedData.file("parity/model/model_index.json").map(Path::getParent).orElseThrow(() ->
                        new UsageException("bench lora needs a model whose layers carry module paths: --model DIR"
                                + " --lora-dir DIR --lora A --lora B (../shared/parity, the default, is absent)"));
        Path loraDir = arguments.value("lora-dir") != null ? Path.of(arguments.value("lora-dir"))
                : SharedData.file("parity/lora/cases.json").map(p -> p.resolveSibling("loras")).orElseThrow(() ->
                        new UsageException("--lora-dir is required"));
        List<String> loras = arguments.values("lora").isEmpty() ? List.of("easel_style", "easel_locon")
                : arguments.values("lora");
        if (loras.size() != 2) {
            throw new UsageException("bench lora takes two LoRAs to switch between: --lora A --lora B");
        }
        int steps = arguments.intValue("steps", 20);
        int size = arguments.intValue("size", 64);
        int runs = arguments.intValue("runs", 3);
        try (ModelFolder folder = ModelFolder.load(model, new OrtRuntime(RuntimeOptions.fromEnvironment()))) {
            StableDiffusionPipeline pipeline = new StableDiffusionPipeline(folder, new AdapterLibrary(loraDir, null),
                    java.util.Map.of());
            String a = "<lora:" + loras.get(0) + ":1> ";
            String b = "<lora:" + loras.get(1) + ":1> ";
            job(pipeline, "", steps, size); // warm-up on the base session
            ObjectNode summary = JSON.createObjectNode();
            summary.put("benchmark", "lora");
            summary.put("model", folder.name());
            summary.put("executionProvider", folder.runtime().provider());
            summary.put("size", size);
            summary.put("steps", steps);
            summary.put("loras", String.join(",", loras));
            List<Double> baseText = new ArrayList<>();
            List<Double> baseStep = new ArrayList<>();
            List<Double> sameText = new ArrayList<>();
            List<Double> switchText = new ArrayList<>();
            List<Double> loraStep = new ArrayList<>();
            GenerationResult.Timings first = job(pipeline, a, steps, size);
            report("first job with " + loras.get(0) + " (index + patched session built)", first, steps);
            for (int run = 0; run < runs; run++) {
                GenerationResult.Timings base = job(pipeline, "", steps, size);
                report("no LoRA", base, steps);
                baseText.add(base.textEncoderMillis());
                baseStep.add(base.denoiseMillis() / steps);
                GenerationResult.Timings toA = job(pipeline, a, steps, size);
                report(loras.get(0) + " (after no LoRA: the buffers still hold it)", toA, steps);
                sameText.add(toA.textEncoderMillis());
                loraStep.add(toA.denoiseMillis() / steps);
                GenerationResult.Timings again = job(pipeline, a, steps, size);
                report(loras.get(0) + " again", again, steps);
                sameText.add(again.textEncoderMillis());
                GenerationResult.Timings toB = job(pipeline, b, steps, size);
                report("switch to " + loras.get(1), toB, steps);
                switchText.add(toB.textEncoderMillis());
                GenerationResult.Timings backToA = job(pipeline, a, steps, size);
                report("switch back to " + loras.get(0), backToA, steps);
                switchText.add(backToA.textEncoderMillis());
                loraStep.add(backToA.denoiseMillis() / steps);
            }
            long held = folder.unet().component().patchable().heldBytes();
            for (ModelFolder.TokenizedEncoder encoder : folder.textEncoders()) {
                held += encoder.encoder().component().patchable().heldBytes();
            }
            summary.put("firstLoraTextMillis", round(first.textEncoderMillis()));
            summary.put("baseTextMillis", round(median(baseText)));
            summary.put("sameLoraTextMillis", round(median(sameText)));
            summary.put("switchTextMillis", round(median(switchText)));
            summary.put("switchMillis", round(median(switchText) - median(baseText)));
            summary.put("baseStepMillis", round(median(baseStep)));
            summary.put("loraStepMillis", round(median(loraStep)));
            summary.put("patchedWeightsMb", round(held / 1048576.0));
            summary.put("peakRssMb", BenchCommand.peakRssMegabytes());
            out.println(JSON.writeValueAsString(summary));
        }
        return 0;
    }

    private static GenerationResult.Timings job(StableDiffusionPipeline pipeline, String tags, int steps, int size)
            throws Exception {
        GenerationRequest request = GenerationRequest.builder(tags + "a lighthouse on a cliff at sunset, oil painting")
                .negativePrompt("blurry").size(size, size).steps(steps).scheduler("euler").seed(11L).build();
        return pipeline.generate(request, step -> { }, () -> false).timings();
    }

    private void report(String what, GenerationResult.Timings t, int steps) {
        out.printf("%s: text phase %.1f ms, %.2f ms per step, total %.1f ms%n", what, t.textEncoderMillis(),
                t.denoiseMillis() / steps, t.totalMillis());
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }

    private static double round(double value) {
        return Math.round(value * 100) / 100.0;
    }
}
