package dev.easel.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.contracts.JobRequest;
import dev.easel.deploy.StackSettings;
import dev.easel.engine.adapter.AdapterLibrary;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.Pipeline;
import dev.easel.models.ModelGenerator;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * {@code easel bench engine}: times the engine per phase on the tiny model (512x512, 20 steps, guidance 7.5 by
 * default) after one warm-up run, and prints the medians; the last stdout line is one JSON object.
 */
final class BenchCommand {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PrintStream out;
    private final PrintStream err;

    BenchCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int run(List<String> args) throws Exception {
        if (!args.isEmpty() && args.get(0).equals("e2e")) {
            return endToEnd(args.subList(1, args.size()));
        }
        if (!args.isEmpty() && args.get(0).equals("scale")) {
            return scale(args.subList(1, args.size()));
        }
        if (!args.isEmpty() && args.get(0).equals("state")) {
            return state(args.subList(1, args.size()));
        }
        if (!args.isEmpty() && args.get(0).equals("lora")) {
            return new BenchLora(out).run(args.subList(1, args.size()));
        }
        if (!args.isEmpty() && args.get(0).equals("placement")) {
            return new BenchPlacement(out, err).run(args.subList(1, args.size()));
        }
        if (!args.isEmpty() && args.get(0).equals("cost")) {
            return new BenchCost(out, err).run(args.subList(1, args.size()));
        }
        if (!args.isEmpty() && args.get(0).equals("streams")) {
            return new BenchStreams(out, err).run(args.subList(1, args.size()));
        }
        if (!args.isEmpty() && args.get(0).equals("upscale")) {
            return new BenchUpscale(out, err).run(args.subList(1, args.size()));
        }
        Arguments arguments = new Arguments(args,
                Set.of("model", "runs", "width", "height", "steps", "guidance", "scheduler", "num-images",
                        "max-batch-images"), Set.of());
        if (arguments.positional().size() != 1 || !arguments.positional().get(0).equals("engine")) {
            throw new UsageException("usage: easel bench engine [--model DIR] [--runs N] [--width W] [--height H]"
                    + " [--steps N] [--guidance G] [--scheduler NAME] [--num-images N] [--max-batch-images B]"
                    + " | easel bench e2e [--jobs N] [--concurrency C]"
                    + " [--rate R] [--rate-seconds S] [--steps N] [--size PX] [--warmup N] | easel bench scale [--workers 1,2,4]"
                    + " [--devices-per-worker D] [--jobs-per-worker N] [--steps N] [--min-step-ms M] | easel bench state [--jobs N] [--steps N]"
                    + " | easel bench lora [--model DIR --lora-dir DIR --lora A --lora B] [--steps N] [--size PX]"
                    + " | easel bench upscale [--model DIR] [--size PX] [--tiles 128,64,32] [--runs N]"
                    + " | easel bench cost [--jobs N] [--concurrency C] [--devices D] [--steps N] [--min-step-ms M] [--warmup N] [--idle-seconds S]"
                    + " | easel bench placement [--jobs N] [--burst N]"
                    + " | easel bench streams [--streams N] [--jobs N] [--steps N] [--devices D]");
        }
        int runs = arguments.intValue("runs", 5);
        if (runs < 1) {
            throw new UsageException("--runs must be at least 1");
        }
        Path folder = arguments.value("model") != null
                ? Path.of(arguments.value("model")) : EaselHome.generatedModel(ModelGenerator.Kind.TINY, err);
        GenerationRequest request = GenerationRequest.builder("a photograph of an astronaut riding a horse")
                .negativePrompt("blurry")
                .size(arguments.intValue("width", 512), arguments.intValue("height", 512))
                .steps(arguments.intValue("steps", 20))
                .guidanceScale(arguments.doubleValue("guidance", 7.5))
                .scheduler(arguments.value("scheduler", "euler"))
                .seed(42L)
                .numImages(arguments.intValue("num-images", 1))
                .build();
        RuntimeOptions options = RuntimeOptions.fromEnvironment();
        if (arguments.value("max-batch-images") != null) {
            try {
                options = options.withMaxBatchImages(arguments.intValue("max-batch-images", 1));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--max-batch-images must be 0 (chosen by device) or more");
            }
        }
        OrtRuntime runtime = new OrtRuntime(options);
        try (Pipeline pipeline = Pipeline.load(folder, runtime, AdapterLibrary.empty(), Map.of())) {
            err.println("warm-up run...");
            pipeline.generate(request, step -> { }, () -> false);
            List<GenerationResult.Timings> timings = new ArrayList<>();
            for (int i = 0; i < runs; i++) {
                GenerationResult.Timings t = pipeline.generate(request, step -> { }, () -> false).timings();
                timings.add(t);
                out.printf("run %d: total %.1f ms (text encoder %.1f, UNet loop %.1f, VAE decode %.1f), "
                                + "inside ONNX Runtime %.1f ms%n",
                        i + 1, t.totalMillis(), t.textEncoderMillis(), t.denoiseMillis(), t.vaeDecodeMillis(),
                        t.onnxRunMillis());
            }
            ObjectNode summary = JSON.createObjectNode();
            summary.put("benchmark", "engine");
            summary.put("model", pipeline.modelName());
            summary.put("executionProvider", pipeline.provider());
            summary.put("width", request.width());
            summary.put("height", request.height());
            summary.put("steps", request.steps());
            summary.put("guidanceScale", request.guidanceScale());
            summary.put("scheduler", request.scheduler());
            summary.put("runs", runs);
            summary.put("numImages", request.numImages());
            summary.put("maxBatchImages", runtime.maxBatchImages());
            summary.put("unetCalls", timings.get(0).unetCalls());
            double total = median(timings, GenerationResult.Timings::totalMillis);
            double onnx = median(timings, GenerationResult.Timings::onnxRunMillis);
            summary.put("textEncoderMillis", round(median(timings, GenerationResult.Timings::textEncoderMillis)));
            summary.put("unetLoopMillis", round(median(timings, GenerationResult.Timings::denoiseMillis)));
            summary.put("unetStepMillis", round(median(timings, GenerationResult.Timings::denoiseMillis) / request.steps()));
            summary.put("vaeDecodeMillis", round(median(timings, GenerationResult.Timings::vaeDecodeMillis)));
            summary.put("totalMillis", round(total));
            summary.put("millisPerImage", round(total / request.numImages()));
            summary.put("onnxRunMillis", round(onnx));
            summary.put("overheadRatio", Math.round(total / onnx * 10000) / 10000.0);
            summary.put("peakRssMb", peakRssMegabytes());
            out.println(JSON.writeValueAsString(summary));
        }
        return 0;
    }

    /** The service benchmark on the local stack (started with its saved settings when not running). */
    private int endToEnd(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args,
                Set.of("jobs", "concurrency", "rate", "rate-seconds", "steps", "size", "server", "key", "warmup"),
                Set.of());
        Gateway server;
        if (arguments.value("server") != null) {
            server = Gateway.of(arguments.value("server"), arguments);
        } else {
            // The local stack, with a key of the benchmark's own whose limits the open loop cannot reach.
            StackSettings stack = new StackCommand(err, err).up(new Arguments(List.of(), StackCommand.UP_OPTIONS,
                    Set.of()));
            server = Gateway.withBenchKey(stack.gatewayUrl(), stack.kafkaBootstrap());
        }
        int size = arguments.intValue("size", 64);
        JobRequest request = JobRequest.builder("a red circle on a blue background").size(size, size)
                .steps(arguments.intValue("steps", 10)).guidanceScale(7.5).scheduler("euler").seed(7L).build();
        ObjectNode summary = new BenchE2e(out).run(server, arguments.intValue("jobs", 40),
                arguments.intValue("concurrency", 4), arguments.intValue("rate", 200),
                arguments.intValue("rate-seconds", 3), arguments.intValue("warmup", BenchE2e.WARMUP_JOBS), request);
        out.printf("submit p50 %.1f ms, p99 %.1f ms; end to end p50 %.1f ms, p99 %.1f ms; engine p50 %.1f ms;"
                        + " overhead p50 %.1f ms, p99 %.1f ms; %.1f jobs/s%n",
                summary.path("submitP50Ms").asDouble(), summary.path("submitP99Ms").asDouble(),
                summary.path("endToEndP50Ms").asDouble(), summary.path("endToEndP99Ms").asDouble(),
                summary.path("engineP50Ms").asDouble(), summary.path("overheadP50Ms").asDouble(),
                summary.path("overheadP99Ms").asDouble(), summary.path("throughputJobsPerSecond").asDouble());
        out.printf("overhead parts, p50: submit to started %.1f ms, image upload %.1f ms, completed to client %.1f ms%n",
                summary.path("queueP50Ms").asDouble(), summary.path("uploadP50Ms").asDouble(),
                summary.path("deliveryP50Ms").asDouble());
        out.printf("at %d requests/s: submit p50 %.1f ms, p99 %.1f ms over %d requests%n",
                summary.path("rateRequestsPerSecond").asInt(), summary.path("rateSubmitP50Ms").asDouble(),
                summary.path("rateSubmitP99Ms").asDouble(), summary.path("rateSubmitted").asInt());
        out.println(JSON.writeValueAsString(summary));
        return 0;
    }

    /** Throughput with more and more workers, each step held to a GPU-like minimum time. */
    private int scale(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args, Set.of("workers", "jobs-per-worker", "steps", "min-step-ms",
                "devices-per-worker"), Set.of());
        List<Integer> counts = new ArrayList<>();
        for (String count : arguments.value("workers", "1,2,4").split(",")) {
            try {
                counts.add(Integer.parseInt(count.strip()));
            } catch (NumberFormatException e) {
                throw new UsageException("--workers takes counts separated by commas, e.g. 1,2,4; got '" + count + "'");
            }
        }
        if (counts.isEmpty() || counts.stream().anyMatch(c -> c < 1)) {
            throw new UsageException("--workers counts must be at least 1");
        }
        int minStep = arguments.intValue("min-step-ms", 50);
        if (minStep < 0) {
            throw new UsageException("--min-step-ms must be 0 or more");
        }
        int devicesPerWorker = arguments.intValue("devices-per-worker", 1);
        if (devicesPerWorker < 1) {
            throw new UsageException("--devices-per-worker must be at least 1");
        }
        ObjectNode summary = new BenchScale(out, err).run(counts, devicesPerWorker,
                arguments.intValue("jobs-per-worker", 24), arguments.intValue("steps", 20), minStep,
                EaselHome.generatedModel(ModelGenerator.Kind.TOY, err));
        out.println(JSON.writeValueAsString(summary));
        return 0;
    }

    /** A gateway's start-up time and heap after a history of finished jobs. */
    private int state(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args, Set.of("jobs", "steps"), Set.of());
        int jobs = arguments.intValue("jobs", 100_000);
        int steps = arguments.intValue("steps", 20);
        if (jobs < 1 || steps < 1) {
            throw new UsageException("--jobs and --steps must be at least 1");
        }
        out.println(JSON.writeValueAsString(new BenchState(out, err).run(jobs, steps)));
        return 0;
    }

    private static double median(List<GenerationResult.Timings> timings, ToDoubleFunction<GenerationResult.Timings> field) {
        double[] values = timings.stream().mapToDouble(field).sorted().toArray();
        int middle = values.length / 2;
        return values.length % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    }

    private static double round(double millis) {
        return Math.round(millis * 10) / 10.0;
    }

    /** The process's peak resident set (VmHWM) in MB, or -1 where /proc is not available. */
    static long peakRssMegabytes() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) {
            return -1;
        }
        return Files.readAllLines(status).stream()
                .filter(line -> line.startsWith("VmHWM:"))
                .map(line -> Arrays.stream(line.split("\\s+")).filter(w -> w.matches("\\d+")).findFirst().orElse("0"))
                .mapToLong(kb -> Long.parseLong(kb) / 1024)
                .findFirst().orElse(-1);
    }
}
