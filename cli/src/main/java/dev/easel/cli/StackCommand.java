package dev.easel.cli;

import dev.easel.deploy.LocalApiKey;
import dev.easel.deploy.LocalStack;
import dev.easel.deploy.ServiceProcess;
import dev.easel.deploy.StackSettings;
import dev.easel.models.ModelGenerator;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * {@code easel up}, {@code down}, {@code status} and {@code worker add}: the local stack (Kafka, S3 server, workers,
 * gateway). {@code --model DIR} may be given several times: every worker {@code up} starts serves all of them;
 * {@code worker add --model DIR} adds a worker serving only the models it names.
 */
final class StackCommand {
    static final Set<String> UP_OPTIONS = Set.of("port", "kafka-port", "s3-port", "worker-port", "model", "devices",
            "workers");

    private final PrintStream out;
    private final PrintStream err;

    StackCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    static LocalStack stack() {
        String root = System.getenv("EASEL_ROOT");
        return new LocalStack(Path.of(root == null ? "." : root), EaselHome.folder());
    }

    int up(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args, UP_OPTIONS, Set.of());
        if (!arguments.positional().isEmpty()) {
            throw new UsageException("up takes only options: " + String.join(", ", UP_OPTIONS.stream().sorted()
                    .map(o -> "--" + o).toList()));
        }
        StackSettings settings = up(arguments);
        out.println("gateway   " + settings.gatewayUrl());
        out.println("kafka     " + settings.kafkaBootstrap());
        out.println("s3        " + settings.s3Endpoint() + "  (access key " + LocalStack.S3_ACCESS_KEY + ")");
        for (StackSettings.StackWorker worker : settings.workers()) {
            out.println(String.format("%-9s http://127.0.0.1:%d/health/ready  (models %s)", worker.name(),
                    worker.healthPort(), worker.modelDirs().stream().map(dir -> dir.getFileName().toString()).toList()));
        }
        out.println("api key   " + EaselHome.folder().resolve("api-key.json") + "  (tenant " + LocalApiKey.TENANT
                + "; generate and demo use it)");
        out.println("logs      " + EaselHome.folder().resolve("logs"));
        return 0;
    }

    /** {@code easel worker add [--model DIR]...}: one more worker on the running stack. */
    int worker(List<String> args) throws Exception {
        if (args.isEmpty() || !args.get(0).equals("add")) {
            throw new UsageException("usage: easel worker add [--model DIR]... (the running stack's models by default)");
        }
        Arguments arguments = new Arguments(args.subList(1, args.size()), Set.of("model"), Set.of());
        if (!arguments.positional().isEmpty()) {
            throw new UsageException("worker add takes only --model DIR (repeatable)");
        }
        StackSettings saved = StackSettings.load(EaselHome.folder());
        if (saved.workers().isEmpty()) {
            throw new UsageException("no local stack here yet; start one with ./easel up");
        }
        List<Path> models = arguments.values("model").isEmpty() ? saved.workers().get(0).modelDirs()
                : modelDirs(arguments.values("model"));
        StackSettings settings = saved.withWorker(models);
        StackSettings.StackWorker added = settings.workers().getLast();
        ServiceProcess worker = settings.worker(stack(), added);
        err.println("starting " + added.name() + " (" + worker.address() + ")");
        worker.start(Duration.ofSeconds(180));
        settings.save(EaselHome.folder());
        out.println(added.name() + "  " + worker.address());
        return 0;
    }

    private static List<Path> modelDirs(List<String> values) {
        List<Path> dirs = new java.util.ArrayList<>();
        for (String value : values) {
            Path dir = Path.of(value).toAbsolutePath();
            if (!java.nio.file.Files.isDirectory(dir)) {
                throw new UsageException("--model " + value + " is not a folder; give a diffusers ONNX model folder");
            }
            dirs.add(dir);
        }
        return dirs;
    }

    /** Starts whatever is not running yet and waits until all services are ready. */
    StackSettings up(Arguments arguments) throws Exception {
        LocalStack stack = stack();
        StackSettings saved = StackSettings.load(EaselHome.folder());
        List<StackSettings.StackWorker> workers = saved.workers();
        boolean reshaped = !arguments.values("model").isEmpty() || arguments.value("workers") != null
                || arguments.value("worker-port") != null || workers.isEmpty();
        if (reshaped) {
            List<Path> models = !arguments.values("model").isEmpty() ? modelDirs(arguments.values("model"))
                    : !workers.isEmpty() ? workers.get(0).modelDirs()
                    : List.of(EaselHome.generatedModel(ModelGenerator.Kind.TOY, err));
            int count = arguments.intValue("workers", workers.isEmpty() ? 1 : workers.size());
            if (count < 1) {
                throw new UsageException("--workers must be at least 1");
            }
            int firstPort = arguments.intValue("worker-port", workers.isEmpty() ? StackSettings.DEFAULT_WORKER_PORT
                    : workers.get(0).healthPort());
            List<StackSettings.StackWorker> reshapedWorkers = StackSettings.workers(count, firstPort, models);
            stopChanged(saved, reshapedWorkers);
            workers = reshapedWorkers;
        }
        StackSettings settings = new StackSettings(
                arguments.intValue("port", saved.gatewayPort()),
                arguments.intValue("kafka-port", saved.kafkaPort()),
                arguments.intValue("s3-port", saved.s3Port()),
                workers,
                arguments.intValue("devices", saved.devices()));
        settings.save(EaselHome.folder());
        for (ServiceProcess service : settings.services(stack)) {
            boolean running = service.process().isPresent();
            err.println((running ? "already running: " : "starting ") + service.name() + " (" + service.address() + ")");
            service.start(Duration.ofSeconds(180));
        }
        LocalApiKey.ensure(EaselHome.folder(), settings.kafkaBootstrap(), settings.gatewayUrl());
        return settings;
    }

    /** Running workers that the new settings drop or change are stopped (they drain) before the new ones start. */
    private void stopChanged(StackSettings saved, List<StackSettings.StackWorker> next) throws InterruptedException {
        for (StackSettings.StackWorker worker : saved.workers()) {
            if (!next.contains(worker) && saved.worker(stack(), worker).stop(Duration.ofSeconds(90))) {
                err.println("stopped " + worker.name() + " (its settings changed)");
            }
        }
    }

    int down(List<String> args) throws Exception {
        new Arguments(args, Set.of(), Set.of());
        LocalStack stack = stack();
        List<ServiceProcess> services = StackSettings.load(EaselHome.folder()).services(stack);
        for (int i = services.size() - 1; i >= 0; i--) {
            ServiceProcess service = services.get(i);
            out.println((service.stop(Duration.ofSeconds(30)) ? "stopped " : "not running ") + service.name());
        }
        return 0;
    }

    int status(List<String> args) throws Exception {
        new Arguments(args, Set.of(), Set.of());
        LocalStack stack = stack();
        boolean allReady = true;
        for (ServiceProcess service : StackSettings.load(EaselHome.folder()).services(stack)) {
            String state = service.process().isEmpty() ? "stopped" : service.isReady() ? "ready" : "starting";
            allReady &= state.equals("ready");
            out.printf("%-9s  %-9s %s%s%n", service.name(), state, service.address(),
                    service.process().map(p -> "  pid " + p.pid()).orElse(""));
        }
        return allReady ? 0 : 1;
    }
}
