package dev.easel.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.EventStream;
import dev.easel.contracts.Json;
import dev.easel.deploy.StackSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * {@code easel generate "prompt"}: submits a job to a gateway, follows its events with a progress bar (resuming with
 * Last-Event-ID if the stream drops), downloads the images and prints their paths. {@code easel demo} starts the local
 * stack first when it is not running.
 */
final class GenerateCommand {
    private static final Set<String> OPTIONS = RunCommand.union(RequestOptions.OPTIONS, Set.of("server", "out",
            "key"));
    /** generate names a model by id; demo's --model is the stack's model folder. */
    private static final Set<String> GENERATE_OPTIONS = RunCommand.union(OPTIONS, Set.of("model"));
    private static final int BAR_WIDTH = 24;

    private final PrintStream out;
    private final PrintStream err;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    GenerateCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int run(List<String> args, boolean demo) throws Exception {
        Arguments arguments = new Arguments(args, demo ? RunCommand.union(OPTIONS, StackCommand.UP_OPTIONS)
                : GENERATE_OPTIONS, RequestOptions.FLAGS);
        if (arguments.positional().size() != 1) {
            throw new UsageException((demo ? "demo" : "generate") + " takes one prompt (quote it), e.g. easel "
                    + (demo ? "demo" : "generate") + " \"a red circle on a blue background\"");
        }
        JobRequest request = RequestOptions.parse(arguments, arguments.positional().get(0));
        if (!demo && arguments.value("model") != null) {
            request = request.withModel(arguments.value("model"));
        }
        Path output = RequestOptions.outputOption(arguments);
        String server;
        if (demo) {
            server = new StackCommand(err, err).up(arguments).gatewayUrl();
        } else {
            server = arguments.value("server", StackSettings.load(EaselHome.folder()).gatewayUrl());
        }
        Gateway gateway = Gateway.of(server, arguments);

        JsonNode accepted = submit(gateway, request);
        String id = accepted.path("id").asText();
        err.println("job " + id + " queued (seed " + accepted.path("seed").asText() + ")");
        JsonNode completed = follow(gateway, id);
        List<Path> written = new ArrayList<>();
        JsonNode images = completed.path("images");
        Files.createDirectories(output.toAbsolutePath().getParent());
        for (JsonNode image : images) {
            int index = image.path("index").asInt();
            Path path = RequestOptions.outputFor(output, index, images.size());
            // The gateway redirects to a presigned URL, which must not get the API key: follow it by hand.
            HttpResponse<Void> link = http.send(gateway.request("/v1/jobs/" + id + "/images/" + index).GET().build(),
                    HttpResponse.BodyHandlers.discarding());
            String location = link.headers().firstValue("Location").orElse(null);
            if (link.statusCode() != 302 || location == null) {
                throw new IOException("image " + index + " of job " + id + " has no download link (HTTP "
                        + link.statusCode() + ")");
            }
            HttpResponse<Path> response = http.send(HttpRequest.newBuilder(URI.create(server).resolve(location))
                    .GET().build(), HttpResponse.BodyHandlers.ofFile(path));
            if (response.statusCode() != 200) {
                Files.deleteIfExists(path);
                throw new IOException("image " + index + " of job " + id + " could not be downloaded (HTTP "
                        + response.statusCode() + ")");
            }
            written.add(path);
        }
        for (Path path : written) {
            out.println(path);
        }
        return 0;
    }

    private JsonNode submit(Gateway gateway, JobRequest request) throws Exception {
        HttpResponse<String> response;
        try {
            response = http.send(gateway.request("/v1/jobs")
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                    .POST(HttpRequest.BodyPublishers.ofString(Json.write(request))).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            throw new Gateway.Unreachable(gateway.url());
        }
        if (response.statusCode() != 202) {
            throw problem(response);
        }
        return Json.MAPPER.readTree(response.body());
    }

    /** The gateway's problem+json answer as one readable message: a usage error for 4xx, a failure for 5xx. */
    static RuntimeException problem(HttpResponse<String> response) {
        String message = "the gateway answered HTTP " + response.statusCode();
        try {
            JsonNode problem = Json.MAPPER.readTree(response.body());
            List<String> fields = new ArrayList<>();
            problem.path("errors").forEach(e -> fields.add(e.path("field").asText() + " " + e.path("message").asText()));
            message = fields.isEmpty() ? problem.path("detail").asText(message) : String.join("; ", fields);
        } catch (IOException | RuntimeException e) {
            // not a problem document: keep the status line
        }
        return response.statusCode() < 500 ? new UsageException(message) : new IllegalStateException(message);
    }

    /** Follows the job's SSE stream to its terminal event; returns the completed event's data. */
    private JsonNode follow(Gateway gateway, String id) throws Exception {
        String lastEventId = null;
        for (int attempt = 0; attempt < 6; attempt++) {
            HttpRequest.Builder builder = gateway.request("/v1/jobs/" + id + "/events")
                    .header("Accept", "text/event-stream").GET();
            if (lastEventId != null) {
                builder.header("Last-Event-ID", lastEventId);
            }
            HttpResponse<Stream<String>> response;
            try {
                response = http.send(builder.build(), HttpResponse.BodyHandlers.ofLines());
            } catch (IOException e) {
                Thread.sleep(500);
                continue;
            }
            String[] seen = {lastEventId};
            JsonNode[] completed = new JsonNode[1];
            try (Stream<String> lines = response.body()) {
                EventStream.read(lines.iterator(), event -> {
                    seen[0] = event.id() != null ? event.id() : seen[0];
                    JsonNode json = event.data();
                    switch (event.name()) {
                        case "progress" -> bar(json);
                        case "completed" -> {
                            err.println();
                            completed[0] = json;
                            return false;
                        }
                        case "failed" -> {
                            err.println();
                            throw new IllegalStateException("job " + id + " failed (" + json.path("code").asText()
                                    + "): " + json.path("message").asText());
                        }
                        case "cancelled" -> {
                            err.println();
                            throw new IllegalStateException("job " + id + " was cancelled: "
                                    + json.path("reason").asText());
                        }
                        default -> err.print("\r" + event.name() + "...");
                    }
                    return true;
                });
            } catch (java.io.UncheckedIOException e) {
                // the stream dropped: resume after the last event seen
            }
            lastEventId = seen[0];
            if (completed[0] != null) {
                return completed[0];
            }
        }
        throw new IOException("lost the event stream of job " + id + "; see GET " + gateway.url() + "/v1/jobs/" + id);
    }

    private void bar(JsonNode progress) {
        int step = progress.path("step").asInt();
        int total = Math.max(1, progress.path("total").asInt());
        int filled = BAR_WIDTH * step / total;
        err.printf("\r[%s%s] image %d step %d/%d  ETA %.1fs ", "#".repeat(filled), "-".repeat(BAR_WIDTH - filled),
                progress.path("imageIndex").asInt() + 1, step, total, progress.path("etaMillis").asLong() / 1000.0);
        err.flush();
    }
}
