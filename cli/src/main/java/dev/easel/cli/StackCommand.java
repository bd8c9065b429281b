package dev.easel.cli;

import dev.easel.deploy.LocalStack;
import dev.easel.deploy.ServiceProcess;
import dev.easel.deploy.StackSettings;
import dev.easel.models.ModelGenerator;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/** {@code easel up}, {@code down} and {@code status}: the local stack (Kafka, S3 server, worker, gateway). */
final class StackCommand {
    static final Set<String> UP_OPTIONS = Set.of("port", "kafka-port", "s3-port", "worker-port", "model", "devices");

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
        out.println("gateway  " + settings.gatewayUrl());
        out.println("kafka    " + settings.kafkaBootstrap());
        out.println("s3       " + settings.s3Endpoint() + "  (access key " + LocalStack.S3_ACCESS_KEY + ")");
        out.println("worker   http://127.0.0.1:" + settings.workerHealthPort() + "/health/ready  (model "
                + settings.modelDir() + ")");
        out.println("logs     " + EaselHome.folder().resolve("logs"));
        return 0;
    }

    /** Starts whatever is not running yet and waits until all services are ready. */
    StackSettings up(Arguments arguments) throws Exception {
        LocalStack stack = stack();
        StackSettings saved = StackSettings.load(EaselHome.folder());
        String model = arguments.value("model");
        Path modelDir = model != null ? Path.of(model).toAbsolutePath()
                : saved.modelDir() != null ? saved.modelDir() : EaselHome.generatedModel(ModelGenerator.Kind.TOY, err);
        StackSettings settings = new StackSettings(
                arguments.intValue("port", saved.gatewayPort()),
                arguments.intValue("kafka-port", saved.kafkaPort()),
                arguments.intValue("s3-port", saved.s3Port()),
                arguments.intValue("worker-port", saved.workerHealthPort()),
                modelDir,
                arguments.intValue("devices", saved.devices()));
        settings.save(EaselHome.folder());
        for (ServiceProcess service : settings.services(stack)) {
            boolean running = service.process().isPresent();
            err.println((running ? "already running: " : "starting ") + service.name() + " (" + service.address() + ")");
            service.start(Duration.ofSeconds(180));
        }
        return settings;
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
            out.printf("%-9s %-9s %s%s%n", service.name(), state, service.address(),
                    service.process().map(p -> "  pid " + p.pid()).orElse(""));
        }
        return allReady ? 0 : 1;
    }
}
