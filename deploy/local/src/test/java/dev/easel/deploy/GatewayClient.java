package dev.easel.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.EventStream;
import dev.easel.contracts.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** A test's view of a gateway, calling it with one tenant's API key: submit, status, and a job's SSE stream. */
final class GatewayClient {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    record Event(String id, String name, JsonNode data) {
    }

    private final String url;
    private final String key;

    GatewayClient(String url, String key) {
        this.url = url;
        this.key = key;
    }

    /** A client with a new key of {@code tenant} (limits no test reaches unless given), once the gateway has read it. */
    static GatewayClient withNewKey(String url, String kafka, String tenant) throws Exception {
        return withNewKey(url, kafka, tenant, 1_000_000, 100_000);
    }

    static GatewayClient withNewKey(String url, String kafka, String tenant, Integer ratePerMinute, Integer maxActive)
            throws Exception {
        ApiKeyAdmin.Created created = new ApiKeyAdmin(kafka).create(tenant, ratePerMinute, maxActive);
        ApiKeyAdmin.awaitAccepted(url, created.key(), Duration.ofSeconds(30));
        return new GatewayClient(url, created.key());
    }

    String url() {
        return url;
    }

    /** The same key on another gateway of the stack. */
    GatewayClient on(String otherUrl) {
        return new GatewayClient(otherUrl, key);
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(url + path)).header("Authorization", "Bearer " + key);
    }

    /** Any request, with the Authorization header given (null: none), for the tests of what keys allow. */
    static HttpResponse<String> send(String url, String method, String path, String authorization, String body)
            throws Exception {
        return send(url, method, path, authorization, body, Map.of());
    }

    private static HttpResponse<String> send(String url, String method, String path, String authorization, String body,
            Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        headers.forEach(request::header);
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** {@link #send} with this client's key. */
    HttpResponse<String> send(String method, String path, String body) throws Exception {
        return send(method, path, body, Map.of());
    }

    /** Any request with this client's key, the body sent as {@code contentType} (null: no body, no type). */
    HttpResponse<String> sendTyped(String method, String path, String contentType, String body) throws Exception {
        HttpRequest.Builder request = request(path).timeout(Duration.ofSeconds(60)).method(method,
                body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** {@link #send} with this client's key and further headers. */
    HttpResponse<String> send(String method, String path, String body, Map<String, String> headers) throws Exception {
        return send(url, method, path, "Bearer " + key, body, headers);
    }

    static JobRequest request(String prompt, int steps, long seed) {
        return JobRequest.builder(prompt).size(64, 64).steps(steps).guidanceScale(7.5).scheduler("euler").seed(seed)
                .build();
    }

    HttpResponse<String> post(JobRequest request) throws Exception {
        return post(Json.write(request));
    }

    /** POST /v1/jobs with any body, valid or not. */
    HttpResponse<String> post(String body) throws Exception {
        return HTTP.send(request("/v1/jobs").timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    String submit(JobRequest request) throws Exception {
        HttpResponse<String> response = post(request);
        assertEquals(202, response.statusCode(), response.body());
        return Json.MAPPER.readTree(response.body()).path("id").asText();
    }

    JsonNode get(String path) throws Exception {
        HttpResponse<String> response = HTTP.send(request(path).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), path + ": " + response.body());
        return Json.MAPPER.readTree(response.body());
    }

    /** The image, through the gateway's redirect to its presigned URL (which gets no API key). */
    byte[] image(String id, int index) throws Exception {
        HttpResponse<Void> link = HTTP.send(request("/v1/jobs/" + id + "/images/" + index).GET().build(),
                HttpResponse.BodyHandlers.discarding());
        assertEquals(302, link.statusCode(), "image " + index + " of job " + id);
        HttpResponse<byte[]> image = HTTP.send(HttpRequest.newBuilder(URI.create(url)
                .resolve(link.headers().firstValue("Location").orElseThrow())).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, image.statusCode(), "the presigned URL of image " + index + " of job " + id);
        return image.body();
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
        HttpRequest.Builder request = request("/v1/jobs/" + id + "/events").timeout(timeout).GET();
        if (lastEventId != null) {
            request.header("Last-Event-ID", lastEventId);
        }
        HttpResponse<Stream<String>> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, response.statusCode());
        List<Event> events = new ArrayList<>();
        try (Stream<String> lines = response.body()) {
            EventStream.read(lines.iterator(), event -> {
                events.add(new Event(event.id(), event.name(), event.data()));
                return events.size() < limit;
            });
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
