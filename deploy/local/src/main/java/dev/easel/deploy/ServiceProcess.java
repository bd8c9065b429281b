package dev.easel.deploy;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * One service of the local stack run as an operating-system process: started detached (it outlives the command that
 * started it), its pid in {@code run/NAME.pid}, its output in {@code logs/NAME.log}, and a readiness probe.
 */
public final class ServiceProcess {
    private final String name;
    private final String address;
    private final List<String> command;
    private final Map<String, String> environment;
    private final Path workingDirectory;
    private final Path home;
    private final BooleanSupplier ready;
    private final Runnable prepare;
    private final List<Integer> ports;

    ServiceProcess(String name, String address, List<String> command, Map<String, String> environment,
            Path workingDirectory, Path home, BooleanSupplier ready, Runnable prepare, List<Integer> ports) {
        this.name = name;
        this.address = address;
        this.command = List.copyOf(command);
        this.environment = Map.copyOf(environment);
        this.workingDirectory = workingDirectory;
        this.home = home;
        this.ready = ready;
        this.prepare = prepare;
        this.ports = List.copyOf(ports);
    }

    public String name() {
        return name;
    }

    /** Where clients reach it (a URL or host:port). */
    public String address() {
        return address;
    }

    public Path logFile() {
        return home.resolve("logs").resolve(name + ".log");
    }

    private Path pidFile() {
        return home.resolve("run").resolve(name + ".pid");
    }

    /** The running process recorded in the pid file, if it is alive. */
    public Optional<ProcessHandle> process() {
        try {
            if (!Files.isRegularFile(pidFile())) {
                return Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(pidFile()).strip());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    public boolean isReady() {
        return process().isPresent() && ready.getAsBoolean();
    }

    /** Starts the process unless it already runs, then waits until it is ready. */
    public void start(Duration timeout) throws IOException, InterruptedException {
        if (process().isEmpty()) {
            for (int port : ports) {
                if (Probes.portOpen(port)) {
                    throw new IOException(name + " cannot start: port " + port + " is already in use by another"
                            + " program; stop it or choose another port");
                }
            }
            Files.createDirectories(logFile().getParent());
            Files.createDirectories(pidFile().getParent());
            prepare.run();
            Files.writeString(logFile(), "");
            ProcessBuilder builder = new ProcessBuilder(command).directory(workingDirectory.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            builder.environment().putAll(environment);
            Process process = builder.start();
            Files.writeString(pidFile(), Long.toString(process.pid()));
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!ready.getAsBoolean()) {
            if (process().isEmpty()) {
                throw new IOException(name + " exited during start-up (" + lastMessage() + "); see " + logFile());
            }
            if (System.nanoTime() > deadline) {
                throw new IOException(name + " was not ready after " + timeout.toSeconds() + " s (" + lastMessage()
                        + "); see " + logFile());
            }
            Thread.sleep(200);
        }
    }

    /** Stops the process (SIGTERM, then SIGKILL after {@code grace}); returns whether one was running. */
    public boolean stop(Duration grace) throws InterruptedException {
        Optional<ProcessHandle> running = process();
        if (running.isEmpty()) {
            deletePidFile();
            return false;
        }
        ProcessHandle handle = running.get();
        handle.destroy();
        try {
            handle.onExit().get(grace.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            handle.descendants().forEach(ProcessHandle::destroyForcibly);
            handle.destroyForcibly();
            handle.onExit().join();
        }
        deletePidFile();
        return true;
    }

    private void deletePidFile() {
        try {
            Files.deleteIfExists(pidFile());
        } catch (IOException e) {
            // a stale pid file is harmless: process() checks liveness
        }
    }

    /** The last log line that is not part of a stack trace, for one-line error messages. */
    private String lastMessage() {
        try {
            List<String> all = Files.readAllLines(logFile());
            for (int i = all.size() - 1; i >= 0; i--) {
                String line = all.get(i).strip();
                if (!line.isEmpty() && !line.startsWith("at ") && !line.startsWith("...")) {
                    return line.length() > 200 ? line.substring(0, 200) + "..." : line;
                }
            }
            return "empty log";
        } catch (IOException e) {
            return "no log";
        }
    }
}
