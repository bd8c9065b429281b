package dev.easel.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** A test's view of a gateway: submit, status, and a job's SSE stream. */
final class GatewayClient {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NORMAL).build();

    record Event(String id, String name, JsonNode data) {
    }

    private final String url;

    GatewayClient(String url) {
        this.url = url;
    }

    static JobRequest request(String prompt, int steps, long seed) {
        return new JobRequest(prompt, "", 64, 64, steps, 7.5, "euler", false, null, seed, 1, null, null, null, false,
                null);
    }

    HttpResponse<String> post(JobRequest request) throws Exception {
        return post(Json.write(request));
    }

    /** POST /v1/jobs with any body, valid or not. */
    HttpResponse<String> post(String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/jobs")).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    String submit(JobRequest request) throws Exception {
        HttpResponse<String> response = post(request);
        assertEquals(202, response.statusCode(), response.body());
        return Json.MAPPER.readTree(response.body()).path("id").asText();
    }

    JsonNode get(String path) throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(url + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), path + ": " + response.body());
        return Json.MAPPER.readTree(response.body());
    }

    byte[] image(String id, int index) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/jobs/" + id + "/images/" + index)).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray()).body();
    }

    /** The job's events until its stream ends or {@code limit} arrived; fails after {@code timeout}. */
    List<Event> events(String id, int limit, Duration timeout) throws Exception {
        return events(id, null, limit, timeout);
    }

    /** The same, from after {@code lastEventId} (null: from the start). */
    List<Event> events(String id, String lastEventId, int limit, Duration timeout) throws Exception {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return readEvents(id, lastEventId, limit, timeout);
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        }).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The job's whole stream, to its terminal event. */
    List<Event> allEvents(String id) throws Exception {
        return events(id, Integer.MAX_VALUE, Duration.ofSeconds(180));
    }

    private List<Event> readEvents(String id, String lastEventId, int limit, Duration timeout) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url + "/v1/jobs/" + id + "/events"))
                .timeout(timeout).GET();
        if (lastEventId != null) {
            request.header("Last-Event-ID", lastEventId);
        }
        HttpResponse<Stream<String>> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, response.statusCode());
        List<Event> events = new ArrayList<>();
        String eventId = null;
        String name = null;
        try (Stream<String> lines = response.body()) {
            Iterator<String> it = lines.iterator();
            while (it.hasNext() && events.size() < limit) {
                String line = it.next();
                if (line.startsWith("id:")) {
                    eventId = line.substring(3).strip();
                } else if (line.startsWith("event:")) {
                    name = line.substring(6).strip();
                } else if (line.startsWith("data:")) {
                    events.add(new Event(eventId, name, Json.MAPPER.readTree(line.substring(5).strip())));
                }
            }
        }
        return events;
    }

    static List<String> names(List<Event> events) {
        return events.stream().map(Event::name).toList();
    }

    static long count(List<Event> events, String name) {
        return events.stream().filter(e -> e.name().equals(name)).count();
    }
}
