package dev.easel.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** The processes a test class started, stopped in reverse order when it ends; and a fresh state folder per run. */
final class TestProcesses {
    private static final Duration START = Duration.ofSeconds(180);
    /** The tests' gateways: their long jobs are huge toy-model pictures, far over the default per-job cost cap. */
    static final java.util.Map<String, String> GATEWAY_SETTINGS =
            java.util.Map.of("easel.limits.max-pixel-steps", "1000000000000");

    private final List<ServiceProcess> started = new ArrayList<>();

    /** Starts {@code service} (again, if it was started before) and waits until it is ready. */
    ServiceProcess start(ServiceProcess service) throws Exception {
        if (!started.contains(service)) {
            started.add(service);
        }
        service.start(START);
        return service;
    }

    /** Stops {@code service} (SIGTERM, then SIGKILL after the grace period) and forgets it. */
    void stop(ServiceProcess service, Duration grace) throws InterruptedException {
        service.stop(grace);
        started.remove(service);
    }

    void stopAll() throws InterruptedException {
        for (int i = started.size() - 1; i >= 0; i--) {
            started.get(i).stop(Duration.ofSeconds(20));
        }
        started.clear();
    }

    /** SIGKILL: the process gets no chance to clean up. */
    static void kill(ServiceProcess service) {
        ProcessHandle process = service.process().orElseThrow();
        process.destroyForcibly();
        process.onExit().join();
    }

    /** {@code dir} emptied: a fresh broker, bucket and model every run. */
    static Path fresh(Path dir) throws IOException {
        Path absolute = dir.toAbsolutePath();
        if (Files.exists(absolute)) {
            try (Stream<Path> paths = Files.walk(absolute)) {
                for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(path);
                }
            }
        }
        return absolute;
    }
}
