package dev.easel.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.engine.adapter.AdapterLibrary;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.Pipeline;
import dev.easel.models.ModelGenerator;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code easel bench upscale}: what tiling costs. One upscaler model (the generated tiny ESRGAN, or {@code --model}: an
 * image upscaler or the x4 upscaler) enlarges one picture with each tile side of {@code --tiles}, a warm-up then
 * {@code --runs} timed runs each; prints the tiles, the median time and the part inside ONNX Runtime per setting, and
 * the largest difference from the first setting's picture. The last stdout line is one JSON object.
 */
final class BenchUpscale {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PrintStream out;
    private final PrintStream err;

    BenchUpscale(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int run(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args, Set.of("model", "size", "tiles", "runs", "steps"), Set.of());
        Path folder = arguments.value("model") != null ? Path.of(arguments.value("model"))
                : EaselHome.generatedModel(ModelGenerator.Kind.ESRGAN, err);
        int size = arguments.intValue("size", 128);
        int runs = arguments.intValue("runs", 3);
        List<Integer> tiles = new ArrayList<>();
        for (String tile : arguments.value("tiles", "128,64,32").split(",")) {
            tiles.add(Integer.parseInt(tile.strip()));
        }
        byte[] picture = picture(size);
        GenerationRequest request = GenerationRequest.builder("a lighthouse on a cliff, oil painting")
                .initImage(picture, 1).steps(arguments.intValue("steps", 10)).guidanceScale(7.5).seed(1L).build();
        ArrayNode results = JSON.createArrayNode();
        byte[] reference = null;
        String model = null;
        for (int tile : tiles) {
            try (Pipeline pipeline = Pipeline.load(folder, new OrtRuntime(RuntimeOptions.fromEnvironment()
                    .withUpscaleTile(tile)), AdapterLibrary.empty(), Map.of())) {
                model = pipeline.modelName();
                int[] steps = new int[1];
                pipeline.generate(request, step -> steps[0] = step.total(), () -> false);
                List<GenerationResult> timed = new ArrayList<>();
                for (int i = 0; i < runs; i++) {
                    timed.add(pipeline.generate(request, step -> { }, () -> false));
                }
                double total = median(timed.stream().map(r -> r.timings().totalMillis()).toList());
                double onnx = median(timed.stream().map(r -> r.timings().onnxRunMillis()).toList());
                byte[] rgb = RgbImage.decode(timed.get(0).images().get(0).png()).rgb();
                int worst = 0;
                if (reference == null) {
                    reference = rgb;
                } else {
                    for (int i = 0; i < rgb.length; i++) {
                        worst = Math.max(worst, Math.abs((rgb[i] & 0xff) - (reference[i] & 0xff)));
                    }
                }
                GenerationResult.GeneratedImage image = timed.get(0).images().get(0);
                out.printf("tile %d: %dx%d -> %dx%d, %.1f ms (ONNX Runtime %.1f ms), UNet calls %d, %d progress"
                        + " steps, largest difference from tile %d: %d%n", tile, size, size, image.width(),
                        image.height(), total, onnx, timed.get(0).timings().unetCalls(), steps[0], tiles.get(0),
                        worst);
                ObjectNode result = results.addObject();
                result.put("tile", tile);
                result.put("totalMillis", Math.round(total * 10) / 10.0);
                result.put("onnxRunMillis", Math.round(onnx * 10) / 10.0);
                result.put("unetCalls", timed.get(0).timings().unetCalls());
                result.put("maxDifferenceFromFirst", worst);
            }
        }
        ObjectNode summary = JSON.createObjectNode();
        summary.put("benchmark", "upscale");
        summary.put("model", model);
        summary.put("inputSide", size);
        summary.put("runs", runs);
        summary.set("byTile", results);
        summary.put("peakRssMb", BenchCommand.peakRssMegabytes());
        out.println(JSON.writeValueAsString(summary));
        return 0;
    }

    /** A picture with gradients and edges, the same every run. */
    private static byte[] picture(int side) {
        byte[] rgb = new byte[side * side * 3];
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                boolean box = (x / 16 + y / 16) % 3 == 0;
                for (int c = 0; c < 3; c++) {
                    rgb[(y * side + x) * 3 + c] = (byte) (box ? 40 + 60 * c : (x * 2 + y + c * 50) % 256);
                }
            }
        }
        return new RgbImage(side, side, rgb).toPng(null, null);
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }
}
