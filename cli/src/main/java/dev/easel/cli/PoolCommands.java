package dev.easel.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contracts.Json;
import dev.easel.deploy.StackSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The operator's view of a gateway: {@code easel jobs list|show ID|cancel ID}, {@code easel models} and
 * {@code easel workers}, with {@code generate}'s server and key handling; {@code --json} prints the gateway's answer
 * as it is.
 */
final class PoolCommands {
    private static final Set<String> OPTIONS = Set.of("server", "key", "status", "limit", "cursor");
    private static final Set<String> FLAGS = Set.of("json");

    private final PrintStream out;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    PoolCommands(PrintStream out) {
        this.out = out;
    }

    int jobs(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args, OPTIONS, FLAGS);
        List<String> words = arguments.positional();
        String verb = words.isEmpty() ? "list" : words.get(0);
        switch (verb) {
            case "list" -> {
                requireWords(words, 1, "easel jobs list [--status S] [--limit N] [--cursor C]");
                StringBuilder query = new StringBuilder("/v1/jobs?limit=" + arguments.intValue("limit", 20));
                for (String name : List.of("status", "cursor")) {
                    if (arguments.value(name) != null) {
                        query.append('&').append(name).append('=')
                                .append(URLEncoder.encode(arguments.value(name), StandardCharsets.UTF_8));
                    }
                }
                JsonNode page = call(arguments, "GET", query.toString(), 200);
                if (!print(arguments, page)) {
                    table(List.of("ID", "STATUS", "SUBMITTED", "IMAGES", "DETAIL"), rows(page.path("jobs")));
                    if (page.hasNonNull("nextCursor")) {
                        out.println("more: easel jobs list --cursor " + page.path("nextCursor").asText());
                    }
                }
            }
            case "show" -> {
                requireWords(words, 2, "easel jobs show ID");
                JsonNode job = call(arguments, "GET", "/v1/jobs/" + jobId(words.get(1)), 200);
                if (!print(arguments, job)) {
                    out.println(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(job));
                }
            }
            case "cancel" -> {
                requireWords(words, 2, "easel jobs cancel ID");
                JsonNode job = call(arguments, "DELETE", "/v1/jobs/" + jobId(words.get(1)), 202);
                if (!print(arguments, job)) {
                    out.println("job " + words.get(1) + ": cancel requested (" + job.path("status").asText() + ")");
                }
            }
            default -> throw new UsageException("usage: easel jobs list|show ID|cancel ID [--server URL] [--key KEY]");
        }
        return 0;
    }

    int models(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args, Set.of("server", "key"), FLAGS);
        requireWords(arguments.positional(), 0, "easel models [--server URL] [--key KEY] [--json]");
        JsonNode models = call(arguments, "GET", "/v1/models", 200);
        if (!print(arguments, models)) {
            List<List<String>> rows = new ArrayList<>();
            for (JsonNode model : models.path("models")) {
                rows.add(List.of(model.path("id").asText() + (model.path("isDefault").asBoolean() ? " (default)" : ""),
                        String.valueOf(model.path("workers").size()),
                        model.path("busyDevices").asInt() + "/" + model.path("devices").asInt(),
                        model.path("warmDevices").asInt() + "/" + model.path("placedDevices").asInt()
                                + (model.path("loadingDevices").asInt() > 0 ? " (loading on "
                                + model.path("loadingDevices").asInt() + ")" : ""),
                        model.path("queuedJobs").asText(),
                        model.hasNonNull("startEtaMillis") ? model.path("startEtaMillis").asLong() / 1000.0 + " s" : "-"));
            }
            table(List.of("MODEL", "WORKERS", "BUSY", "WARM/PLACED", "QUEUED", "START ETA"), rows);
        }
        return 0;
    }

    int workers(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args, Set.of("server", "key"), FLAGS);
        requireWords(arguments.positional(), 0, "easel workers [--server URL] [--key KEY] [--json]");
        JsonNode workers = call(arguments, "GET", "/v1/workers", 200);
        if (!print(arguments, workers)) {
            List<List<String>> rows = new ArrayList<>();
            for (JsonNode worker : workers.path("workers")) {
                List<String> models = new ArrayList<>();
                worker.path("models").forEach(m -> models.add(m.asText()));
                rows.add(List.of(worker.path("id").asText(), worker.path("state").asText(), String.join(",", models),
                        worker.path("busyDevices").asInt() + "/" + worker.path("devices").asInt(),
                        worker.path("executionProvider").asText()));
            }
            table(List.of("WORKER", "STATE", "MODELS", "BUSY", "PROVIDER"), rows);
        }
        return 0;
    }

    private static List<List<String>> rows(JsonNode jobs) {
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode job : jobs) {
            String detail = switch (job.path("status").asText()) {
                case "failed" -> job.path("error").path("message").asText();
                case "cancelled" -> job.path("cancelReason").asText();
                case "running" -> job.path("progress").isMissingNode() ? "" : "step "
                        + job.path("progress").path("step").asInt() + "/" + job.path("progress").path("total").asInt();
                case "queued" -> job.hasNonNull("queuePosition") ? "position " + job.path("queuePosition").asInt() : "";
                default -> "";
            };
            rows.add(List.of(job.path("id").asText(), job.path("status").asText(),
                    job.hasNonNull("submittedAtMillis")
                            ? Instant.ofEpochMilli(job.path("submittedAtMillis").asLong()).toString() : "-",
                    String.valueOf(job.path("images").size()), detail));
        }
        return rows;
    }

    private void table(List<String> header, List<List<String>> rows) {
        int[] widths = new int[header.size()];
        List<List<String>> all = new ArrayList<>();
        all.add(header);
        all.addAll(rows);
        for (List<String> row : all) {
            for (int i = 0; i < row.size(); i++) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        for (List<String> row : all) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.size(); i++) {
                line.append(i == row.size() - 1 ? row.get(i) : String.format("%-" + (widths[i] + 2) + "s", row.get(i)));
            }
            out.println(line.toString().stripTrailing());
        }
    }

    private boolean print(Arguments arguments, JsonNode answer) throws IOException {
        if (!arguments.flag("json")) {
            return false;
        }
        out.println(Json.MAPPER.writeValueAsString(answer));
        return true;
    }

    private JsonNode call(Arguments arguments, String method, String path, int expected) throws Exception {
        String server = arguments.value("server", StackSettings.load(EaselHome.folder()).gatewayUrl());
        Gateway gateway = Gateway.of(server, arguments);
        HttpRequest request = gateway.request(path).timeout(Duration.ofSeconds(30))
                .method(method, HttpRequest.BodyPublishers.noBody()).build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            throw new Gateway.Unreachable(gateway.url());
        }
        if (response.statusCode() != expected) {
            throw GenerateCommand.problem(response);
        }
        return Json.MAPPER.readTree(response.body());
    }

    private static String jobId(String id) {
        if (!id.matches("[A-Za-z0-9_-]{1,64}")) {
            throw new UsageException("'" + id + "' is not a job id (as easel jobs list prints them)");
        }
        return id;
    }

    private static void requireWords(List<String> words, int count, String usage) {
        if (words.size() != count) {
            throw new UsageException("usage: " + usage);
        }
    }
}
