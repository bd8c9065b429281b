package dev.easel.cli;

import dev.easel.deploy.LocalStack;
import dev.easel.deploy.ServiceProcess;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A benchmark's own broker and S3 server on free ports, with its state in a fresh folder under {@code .easel}, so a
 * benchmark never measures, nor disturbs, the stack {@code ./easel up} runs.
 */
record BenchStack(LocalStack stack, String kafka, String s3, List<ServiceProcess> infrastructure) {
    /** How long a benchmark waits for one of its services to report ready. */
    static final Duration START = Duration.ofSeconds(180);

    static BenchStack fresh(String folder) throws IOException {
        Path home = EaselHome.folder().resolve(folder);
        deleteRecursively(home);
        String root = System.getenv("EASEL_ROOT");
        LocalStack stack = new LocalStack(Path.of(root == null ? "." : root), home);
        int kafkaPort = LocalStack.freePort();
        int s3Port = LocalStack.freePort();
        return new BenchStack(stack, "127.0.0.1:" + kafkaPort, "http://127.0.0.1:" + s3Port,
                List.of(stack.kafka(kafkaPort, LocalStack.freePort()), stack.s3(s3Port)));
    }

    /**
     * Starts the broker and the S3 server, then {@code services} in order, each once the one before is ready. A
     * benchmark stopped early (Ctrl-C, SIGTERM) stops them too: left running, they would load the machine under the
     * next benchmark.
     */
    void start(PrintStream err, ServiceProcess... services) throws IOException, InterruptedException {
        List<ServiceProcess> all = new java.util.ArrayList<>(infrastructure);
        all.addAll(List.of(services));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (ServiceProcess service : all.reversed()) {
                try {
                    service.stop(Duration.ofSeconds(5));
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "bench-stack-stop"));
        for (ServiceProcess service : all) {
            err.println("starting " + service.name());
            service.start(START);
        }
    }

    void stop() throws InterruptedException {
        for (int i = infrastructure.size() - 1; i >= 0; i--) {
            infrastructure.get(i).stop(Duration.ofSeconds(30));
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> paths = Files.walk(dir)) {
                for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(path);
                }
            }
        }
    }
}
