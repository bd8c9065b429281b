package dev.easel.gateway.api;

import dev.easel.gateway.jobs.JobStore;
import dev.easel.gateway.pool.WorkerRegistry;
import dev.easel.gateway.tenants.ApiKeys;
import dev.easel.gateway.webhooks.WebhookSignature;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.contracts.ApiKey;
import dev.easel.contracts.ControlMessage;
import dev.easel.contracts.JobEvent;
import dev.easel.contracts.JobMessage;
import dev.easel.contracts.Json;
import dev.easel.contracts.WorkerStatus;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.builder.RequestSpecBuilder;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import io.smallrye.reactive.messaging.memory.InMemoryConnector;
import io.smallrye.reactive.messaging.memory.InMemorySink;
import jakarta.enterprise.inject.Any;
import jakarta.inject.Inject;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The gateway with SmallRye's in-memory connector in place of Kafka: validation, publishing, state, SSE replay. */
@QuarkusTest
class JobResourceTest {
    private static final AtomicLong OFFSETS = new AtomicLong();

    @Inject
    @Any
    InMemoryConnector connector;

    private InMemorySink<String> jobs;
    private InMemorySink<String> events;
    private InMemorySink<String> control;
    @Inject
    JobStore store;

    @Inject
    WorkerRegistry workers;

    @Inject
    ApiKeys apiKeys;

    /** What easel.api-keys would deliver: a new key of {@code tenant}; returns the key to present. */
    private String issueKey(String tenant, Integer ratePerMinute, Integer maxActive) {
        ApiKey.Issued issued = ApiKey.issue(tenant, ratePerMinute, maxActive, System.currentTimeMillis());
        apiKeys.onRecord(new ConsumerRecord<>("easel.api-keys", 0, OFFSETS.incrementAndGet(), issued.record().id(),
                Json.write(issued.record())));
        return issued.key();
    }

    /**
     * Makes {@code key} the one every request presents (a builder starts from the current default, so that is cleared
     * first, or the request would carry two Authorization headers).
     */
    private static RequestSpecification as(String key) {
        RestAssured.requestSpecification = null;
        return new RequestSpecBuilder().addHeader("Authorization", "Bearer " + key).build();
    }

    /** What easel.workers would deliver: a live worker serving {@code models}, or a tombstone when none. */
    private void announce(String workerId, List<String> models) {
        String value = models == null ? null : Json.write(new WorkerStatus(WorkerStatus.SCHEMA_VERSION, workerId,
                models, 1, 0, "CPUExecutionProvider", WorkerStatus.IDLE, 1L, System.currentTimeMillis(), 60_000L,
                List.of("style"), List.of("easelcat"), List.of(), java.util.Map.of(), java.util.Map.of(),
                java.util.Map.of(), null, null, null, null));
        workers.onAnnouncement(new ConsumerRecord<>("easel.workers", 0, OFFSETS.incrementAndGet(), workerId, value));
    }

    @BeforeEach
    void clear() {
        // Tenant t1 makes the requests of every test; its limits are out of the way except where a test sets its own.
        RestAssured.requestSpecification = as(issueKey("t1", 100_000, 100_000));
        announce("w1", List.of("toy"));
        announce("w2", null);
        jobs = connector.sink("jobs-out");
        events = connector.sink("events-out");
        control = connector.sink("control-out");
        jobs.clear();
        events.clear();
        control.clear();
    }

    /** Feeds what the events topic would deliver back to the gateway. */
    private void deliver(JobEvent event) {
        store.onEvent(new ConsumerRecord<>("easel.events", 0, OFFSETS.incrementAndGet(), event.jobId(),
                Json.write(event)));
    }

    private String submit(String body) {
        return given().contentType("application/json").body(body).when().post("/v1/jobs").then().statusCode(202)
                .header("Location", containsString("/v1/jobs/")).body("status", equalTo("queued"))
                .extract().path("id");
    }

    @Test
    void acceptedJobsArePublishedWithTheirQueuedEventAndSeed() {
        String id = submit("{\"prompt\":\"a red circle\",\"steps\":8,\"seed\":77}");
        assertEquals(1, jobs.received().size());
        JobMessage job = Json.read(jobs.received().get(0).getPayload(), JobMessage.class);
        assertEquals(id, job.jobId());
        assertEquals(77L, job.request().seed());
        assertEquals("toy", job.request().model(), "the only model served is the default");
        assertEquals("easel.jobs.toy", jobs.received().get(0).getMetadata(OutgoingKafkaRecordMetadata.class)
                .orElseThrow().getTopic(), "the job goes to its model's queue");
        assertEquals(null, job.request().width(), "no size given: the worker's model decides (512 SD 1.x, 1024 SDXL)");
        assertEquals("a1111", job.request().promptSyntax(), "defaults are filled in before publishing");
        JobEvent queued = Json.read(events.received().get(0).getPayload(), JobEvent.class);
        assertTrue(queued instanceof JobEvent.Queued q && q.seed() == 77L);
        assertEquals("torch", ((JobEvent.Queued) queued).noise(), "the default noise source, named in the event");
        given().when().get("/v1/jobs/" + id).then().statusCode(200).body("status", equalTo("queued"))
                .body("seed", equalTo(77))
                .body("links.events", equalTo("/v1/jobs/" + id + "/events"));
    }

    @Test
    void aRandomSeedIsDrawnAndReportedWhenAbsent() {
        Response response = given().contentType("application/json").body("{\"prompt\":\"x\"}").post("/v1/jobs");
        response.then().statusCode(202).body("seed", notNullValue());
        JobMessage job = Json.read(jobs.received().get(0).getPayload(), JobMessage.class);
        assertEquals(((Number) response.path("seed")).longValue(), job.request().seed());
    }

    @Test
    void aSeedOfMinusOneIsDrawnAsAutomatic1111Does() {
        Response response = given().contentType("application/json").body("{\"prompt\":\"x\",\"seed\":-1}")
                .post("/v1/jobs");
        response.then().statusCode(202);
        long seed = ((Number) response.path("seed")).longValue();
        assertTrue(seed >= 0 && seed < (1L << 32), "a drawn seed, in [0, 2^32), not -1: " + seed);
        assertEquals(seed, Json.read(jobs.received().get(0).getPayload(), JobMessage.class).request().seed());
    }

    @Test
    void aBodyThatIsNotAJobRequestIsRefusedSayingWhatIsWrongAndPublishesNothing() {
        given().contentType("application/json").body("{\"prompt\":\"x\",").when().post("/v1/jobs").then()
                .statusCode(400).contentType("application/problem+json")
                .body("detail", containsString("not valid JSON (line 1, column"));
        given().contentType("application/json").body("not json").when().post("/v1/jobs").then()
                .statusCode(400).body("detail", containsString("not valid JSON"));
        given().contentType("application/json").body("[1,2]").when().post("/v1/jobs").then()
                .statusCode(400).body("detail", equalTo("the body must be a JSON object"));
        given().contentType("application/json").body("{\"prompt\":\"x\",\"seed\":99999999999999999999}").when()
                .post("/v1/jobs").then().statusCode(400).body("errors[0].field", equalTo("seed"))
                .body("detail", equalTo("seed has the wrong type; expected an integer from -2^63 to 2^63-1"));
        given().contentType("application/json").body("{\"prompt\":\"x\",\"steps\":99999999999}").when()
                .post("/v1/jobs").then().statusCode(400)
                .body("detail", equalTo("steps has the wrong type; expected an integer from -2^31 to 2^31-1"));
        given().contentType("application/json").body("{\"prompt\":\"x\",\"steps\":\"ten\"}").when()
                .post("/v1/jobs").then().statusCode(400)
                .body("detail", equalTo("steps has the wrong type; expected an integer"));
        given().contentType("text/plain").body("{\"prompt\":\"x\"}").when().post("/v1/jobs").then()
                .statusCode(415).contentType("application/problem+json")
                .body("detail", containsString("Content-Type: application/json"));
        given().when().get("/v1/nothing").then().statusCode(404).contentType("application/problem+json")
                .body("detail", equalTo("there is no GET /v1/nothing; the API is described at /q/openapi"));
        given().when().put("/v1/jobs").then().statusCode(405).body("detail", containsString("does not take PUT"));
        assertEquals(0, jobs.received().size());
        assertEquals(0, events.received().size());
    }

    @Test
    void invalidFieldsGiveProblemsAndPublishNothing() {
        given().contentType("application/json")
                .body("{\"prompt\":\"x\",\"width\":100,\"steps\":0,\"scheduler\":\"turbo\",\"strength\":3,"
                        + "\"initImage\":\"AAAA\"}")
                .when().post("/v1/jobs").then().statusCode(400).contentType("application/problem+json")
                .body("status", equalTo(400))
                .body("errors.field", hasItems("width", "steps", "scheduler", "strength"));
        given().contentType("application/json").body("{\"prompt\":\"x\",\"width\":\"wide\"}")
                .when().post("/v1/jobs").then().statusCode(400).contentType("application/problem+json")
                .body("errors[0].field", equalTo("width"));
        given().contentType("application/json").body("{\"prompt\": ").when().post("/v1/jobs").then().statusCode(400)
                .contentType("application/problem+json");
        given().contentType("application/json").body("{\"negativePrompt\":\"x\"}").when().post("/v1/jobs").then()
                .statusCode(400).body("errors[0].field", equalTo("prompt"));
        assertEquals(0, jobs.received().size());
        assertEquals(0, events.received().size());
    }

    @Test
    void valuesOfTheWrongTypeUnknownFieldsAndNonImagesAreRefusedNamingTheField() {
        String notAnImage = java.util.Base64.getEncoder().encodeToString("just some text, not a picture".getBytes());
        java.util.Map<String, String> bodies = new java.util.LinkedHashMap<>();
        bodies.put("prompt", "{\"prompt\":12}");
        bodies.put("steps", "{\"prompt\":\"x\",\"steps\":10.5}");
        bodies.put("width", "{\"prompt\":\"x\",\"width\":\"512\"}");
        bodies.put("karras", "{\"prompt\":\"x\",\"karras\":1}");
        bodies.put("strength", "{\"prompt\":\"x\",\"strength\":0.5}");
        bodies.put("initImage", "{\"prompt\":\"x\",\"initImage\":\"" + notAnImage + "\",\"strength\":0.5}");
        bodies.put("colour", "{\"prompt\":\"x\",\"colour\":\"red\"}");
        bodies.forEach((field, body) -> given().contentType("application/json").body(body).when().post("/v1/jobs")
                .then().statusCode(400).contentType("application/problem+json").body("errors[0].field", equalTo(field)));
        given().contentType("application/json").body("{\"prompt\":\"x\",\"colour\":\"red\"}").when()
                .post("/v1/jobs").then().body("errors[0].message", containsString("known fields"));
        given().contentType("application/json").body("{\"prompt\":\"x\",\"steps\":\"ten\"}").when()
                .post("/v1/jobs").then().statusCode(400).body("errors[0].message", containsString("an integer"));
        assertEquals(0, jobs.received().size());
        assertEquals(0, events.received().size());
        // A whole number is a fine guidance scale.
        given().contentType("application/json").body("{\"prompt\":\"x\",\"guidanceScale\":7}").when()
                .post("/v1/jobs").then().statusCode(202);
    }

    @Test
    void jobsGoOnlyToModelsThatLiveWorkersServe() {
        announce("w2", List.of("tiny"));
        given().contentType("application/json").body("{\"prompt\":\"x\",\"model\":\"sdxl\"}").when().post("/v1/jobs")
                .then().statusCode(400).contentType("application/problem+json").body("errors[0].field", equalTo("model"))
                .body("errors[0].message", containsString("served models: tiny, toy"));
        given().contentType("application/json").body("{\"prompt\":\"x\"}").when().post("/v1/jobs").then()
                .statusCode(400).body("errors[0].message", containsString("several models"));
        submit("{\"prompt\":\"x\",\"model\":\"tiny\"}");
        assertEquals("easel.jobs.tiny", jobs.received().get(0).getMetadata(OutgoingKafkaRecordMetadata.class)
                .orElseThrow().getTopic());
        given().when().get("/v1/models").then().statusCode(200).body("models.id", equalTo(List.of("tiny", "toy")))
                .body("models[0].workers", equalTo(List.of("w2")));
        given().when().get("/v1/workers").then().statusCode(200).body("workers.id", equalTo(List.of("w1", "w2")))
                .body("workers[0].state", equalTo("idle"));

        announce("w1", null);
        announce("w2", null);
        given().contentType("application/json").body("{\"prompt\":\"x\"}").when().post("/v1/jobs").then()
                .statusCode(503).contentType("application/problem+json").header("Retry-After", "5");
        assertEquals(1, jobs.received().size(), "nothing more was published");
    }

    @Test
    void lorasAreCheckedAtSubmitAgainstTheWorkersFoldersAndBounded() {
        submit("{\"prompt\":\"a hat, <lora:style:0.8>\",\"loras\":[{\"name\":\"style\",\"weight\":-0.5}]}");
        JobMessage job = Json.read(jobs.received().get(0).getPayload(), JobMessage.class);
        assertEquals("style", job.request().loras().get(0).name(), "the loras field travels with the job");
        given().contentType("application/json").body("{\"prompt\":\"a hat <lora:sparkle:1>\"}").when()
                .post("/v1/jobs").then().statusCode(400).contentType("application/problem+json")
                .body("errors[0].field", equalTo("loras"))
                .body("errors[0].message", equalTo("names an unknown LoRA 'sparkle' for model toy; known: style"));
        given().contentType("application/json").body("{\"prompt\":\"" + "<lora:style:1>".repeat(9) + "\"}").when()
                .post("/v1/jobs").then().statusCode(400).body("errors[0].field", equalTo("loras"))
                .body("errors[0].message", containsString("at most 8"));
        given().contentType("application/json").body("{\"prompt\":\"x\",\"loras\":[{\"name\":\"style\","
                + "\"weight\":11}]}").when().post("/v1/jobs").then().statusCode(400)
                .body("errors[0].message", containsString("at most 10.0 either way"));
        given().contentType("application/json").body("{\"prompt\":\"" + "a BREAK ".repeat(8) + "a\"}").when()
                .post("/v1/jobs").then().statusCode(400).body("errors[0].field", equalTo("prompt"))
                .body("errors[0].message", containsString("takes at least 9 chunks of 75 tokens (its BREAKs); at most"
                        + " 8"));
        assertEquals(1, jobs.received().size(), "nothing refused was published");
        given().when().get("/v1/models").then().statusCode(200).body("models[0].loras[0]", equalTo("style"))
                .body("models[0].embeddings[0]", equalTo("easelcat"));
    }

    @Test
    void aJobWhoseModelIsLoadingSaysSoUntilItStarts() {
        String id = submit("{\"prompt\":\"x\",\"steps\":2}");
        deliver(Json.read(events.received().get(0).getPayload(), JobEvent.class));
        deliver(new JobEvent.Loading(id, 2L, "w1", "toy", 1500L, 1));
        given().when().get("/v1/jobs/" + id).then().body("status", equalTo("loading"));
        given().when().get("/v1/jobs?status=loading").then().statusCode(200).body("jobs.id", hasItems(id));
        deliver(new JobEvent.Requeued(id, 3L, 2, "model toy could not be loaded on worker w1"));
        given().when().get("/v1/jobs/" + id).then().body("status", equalTo("queued"));
        deliver(new JobEvent.Loading(id, 4L, "w2", "toy", 1500L, 2));
        deliver(new JobEvent.Started(id, 5L, "w2", "CPUExecutionProvider", 2, 2, null));
        given().when().get("/v1/jobs/" + id).then().body("status", equalTo("running"));
        deliver(new JobEvent.Cancelled(id, 6L, "cancelled by the client"));
        String stream = given().when().get("/v1/jobs/" + id + "/events").then().extract().asString();
        assertTrue(stream.contains("event:loading"), stream);
    }

    @Test
    void aRequeuedJobIsQueuedAgainAndARepeatedRequeueIsShownOnce() {
        String id = submit("{\"prompt\":\"x\",\"steps\":2}");
        deliver(Json.read(events.received().get(0).getPayload(), JobEvent.class));
        deliver(new JobEvent.Started(id, 2L, "w1", "CPUExecutionProvider", 2, 1, null));
        deliver(new JobEvent.Requeued(id, 3L, 2, "worker w1 shut down before the job finished"));
        given().when().get("/v1/jobs/" + id).then().body("status", equalTo("queued")).body("attempt", equalTo(2))
                .body("requeueReason", containsString("shut down"));
        deliver(new JobEvent.Requeued(id, 4L, 2, "attempt 1 ended without a result"));
        deliver(new JobEvent.Started(id, 5L, "w3", "CPUExecutionProvider", 2, 2, null));
        given().when().get("/v1/jobs/" + id).then().body("status", equalTo("running")).body("workerId", equalTo("w3"))
                .body("workerState", equalTo("gone"));
        deliver(new JobEvent.Failed(id, 6L, "internal_error", "boom", true, 2));
        given().when().get("/v1/jobs/" + id).then().body("status", equalTo("failed"))
                .body("error.attempts", equalTo(2));
        String stream = given().when().get("/v1/jobs/" + id + "/events").then().extract().asString();
        assertEquals(List.of("queued", "started", "requeued", "started", "failed"), stream.lines()
                .filter(l -> l.startsWith("event:")).map(l -> l.substring(6).strip()).toList());
    }

    @Test
    void aRedeliveryOfAJobNoWorkerBeganIsNotShownAsARequeue() {
        String id = submit("{\"prompt\":\"x\",\"steps\":2}");
        deliver(Json.read(events.received().get(0).getPayload(), JobEvent.class));
        // The first delivery sat in a busy worker's buffer until its lock ran out; the second worker counts attempt 2.
        deliver(new JobEvent.Requeued(id, 2L, 2, "attempt 1 ended without a result"));
        given().when().get("/v1/jobs/" + id).then().body("status", equalTo("queued")).body("attempt", equalTo(1))
                .body("requeueReason", nullValue());
        deliver(new JobEvent.Started(id, 3L, "w2", "CPUExecutionProvider", 2, 2, null));
        deliver(new JobEvent.Requeued(id, 4L, 3, "worker w2 shut down before the job finished"));
        given().when().get("/v1/jobs/" + id).then().body("status", equalTo("queued")).body("attempt", equalTo(3));
        deliver(new JobEvent.Cancelled(id, 5L, "cancelled by the client"));
        String stream = given().when().get("/v1/jobs/" + id + "/events").then().extract().asString();
        assertEquals(List.of("queued", "started", "requeued", "cancelled"), stream.lines()
                .filter(l -> l.startsWith("event:")).map(l -> l.substring(6).strip()).toList());
    }

    @Test
    void unknownJobsAreNotFoundProblems() {
        given().when().get("/v1/jobs/nope").then().statusCode(404).contentType("application/problem+json")
                .body("detail", containsString("nope"));
        given().when().delete("/v1/jobs/nope").then().statusCode(404);
    }

    @Test
    void stateFollowsTheEventsAndTheStreamReplaysAndResumes() {
        String id = submit("{\"prompt\":\"x\",\"steps\":2}");
        deliver(Json.read(events.received().get(0).getPayload(), JobEvent.class));
        deliver(new JobEvent.Started(id, 2L, "w1", "CPUExecutionProvider", 2, 1, null));
        deliver(new JobEvent.Progress(id, 3L, 0, 1, 2, 999.0, 14.6, 5L, 5L, null));
        given().when().get("/v1/jobs/" + id).then().body("status", equalTo("running"))
                .body("progress.step", equalTo(1)).body("workerId", equalTo("w1"));
        deliver(new JobEvent.Progress(id, 4L, 0, 2, 2, 500.0, 1.0, 9L, 0L, null));
        deliver(new JobEvent.Completed(id, 5L, List.of(new JobEvent.Image(0, "easel-images", id + "/0.png", null, 64, 64, 1L)),
                new JobEvent.Timings(1, 2, 3, 4)));
        deliver(new JobEvent.Progress(id, 6L, 0, 2, 2, 500.0, 1.0, 9L, 0L, null)); // after the end: ignored

        given().when().get("/v1/jobs/" + id).then().body("status", equalTo("completed"))
                .body("images[0].url", containsString(id + "/0.png"));
        String stream = given().when().get("/v1/jobs/" + id + "/events").then().statusCode(200)
                .contentType(containsString("text/event-stream")).extract().asString();
        List<String> names = stream.lines().filter(l -> l.startsWith("event:")).map(l -> l.substring(6).strip()).toList();
        assertEquals(List.of("queued", "started", "progress", "progress", "completed"), names);
        List<String> ids = stream.lines().filter(l -> l.startsWith("id:")).map(l -> l.substring(3).strip()).toList();
        assertEquals(5, ids.size());

        String resumed = given().header("Last-Event-ID", ids.get(2)).when().get("/v1/jobs/" + id + "/events")
                .then().statusCode(200).extract().asString();
        assertEquals(List.of("progress", "completed"), resumed.lines().filter(l -> l.startsWith("event:"))
                .map(l -> l.substring(6).strip()).toList());
        given().redirects().follow(false).when().get("/v1/jobs/" + id + "/images/0").then().statusCode(302)
                .header("Location", containsString(id + "/0.png"));
        given().when().get("/v1/jobs/" + id + "/images/3").then().statusCode(404);
        given().when().delete("/v1/jobs/" + id).then().statusCode(409).contentType("application/problem+json");
    }

    @Test
    void cancellingAQueuedJobPublishesTheCancellationAndTheCancelledEvent() {
        String id = submit("{\"prompt\":\"x\"}");
        events.clear();
        given().when().delete("/v1/jobs/" + id).then().statusCode(202);
        assertEquals(ControlMessage.CANCEL, Json.read(control.received().get(0).getPayload(), ControlMessage.class).type());
        JobEvent cancelled = Json.read(events.received().get(0).getPayload(), JobEvent.class);
        assertTrue(cancelled instanceof JobEvent.Cancelled);
        deliver(cancelled);
        given().when().get("/v1/jobs/" + id).then().body("status", equalTo("cancelled"))
                .body("cancelReason", containsString("queued"));
    }

    @AfterEach
    void noDefaultKey() {
        RestAssured.requestSpecification = null;
    }

    @Test
    void everyV1RouteNeedsAKnownKey() {
        RestAssured.requestSpecification = null;
        for (String path : List.of("/v1/models", "/v1/workers", "/v1/jobs/some-id", "/v1/jobs/some-id/events")) {
            given().when().get(path).then().statusCode(401).contentType("application/problem+json")
                    .header("WWW-Authenticate", equalTo("Bearer realm=\"easel\""))
                    .body("detail", containsString("Authorization: Bearer"));
            given().header("Authorization", "Bearer esk_unknown").when().get(path).then().statusCode(401)
                    .header("WWW-Authenticate", containsString("invalid_token"));
            given().header("Authorization", "Basic dXNlcjpwYXNz").when().get(path).then().statusCode(401)
                    .header("WWW-Authenticate", containsString("invalid_request"));
        }
        given().contentType("application/json").body("{\"prompt\":\"x\"}").when().post("/v1/jobs").then()
                .statusCode(401);
        assertEquals(0, jobs.received().size(), "nothing published without a key");
        given().when().get("/q/health/live").then().statusCode(200);
        given().when().get("/q/openapi").then().statusCode(200);
    }

    @Test
    void anotherTenantsJobIsNotFoundOnEveryRoute() {
        RequestSpecification mine = RestAssured.requestSpecification;
        String id = submit("{\"prompt\":\"mine\",\"steps\":2}");
        assertEquals("t1", Json.read(jobs.received().get(0).getPayload(), JobMessage.class).tenant());
        deliver(Json.read(events.received().get(0).getPayload(), JobEvent.class));
        RestAssured.requestSpecification = as(issueKey("t2", null, null));
        given().when().get("/v1/jobs/" + id).then().statusCode(404).contentType("application/problem+json");
        given().when().get("/v1/jobs/" + id + "/events").then().statusCode(404);
        given().when().get("/v1/jobs/" + id + "/images/0").then().statusCode(404);
        given().when().delete("/v1/jobs/" + id).then().statusCode(404);
        assertEquals(0, control.received().size(), "t2 cancelled nothing");
        RestAssured.requestSpecification = mine;
        given().when().get("/v1/jobs/" + id).then().statusCode(200).body("status", equalTo("queued"));
    }

    @Test
    void overTheSubmitRateOrTheActiveJobsIs429WithRetryAfterAndTheLimits() {
        RestAssured.requestSpecification = as(issueKey("t3", 2, 100));
        for (int i = 0; i < 2; i++) {
            given().contentType("application/json").body("{\"prompt\":\"x\"}").post("/v1/jobs").then().statusCode(202);
        }
        given().contentType("application/json").body("{\"prompt\":\"x\"}").post("/v1/jobs")
                .then().statusCode(429).contentType("application/problem+json").header("Retry-After", equalTo("30"))
                .body("limits.ratePerMinute", equalTo(2)).body("detail", containsString("2 jobs per minute"));

        RestAssured.requestSpecification = as(issueKey("t4", 100, 1));
        String first = given().contentType("application/json").body("{\"prompt\":\"x\"}").post("/v1/jobs").then()
                .statusCode(202).extract().path("id");
        given().contentType("application/json").body("{\"prompt\":\"x\"}").post("/v1/jobs")
                .then().statusCode(429).header("Retry-After", notNullValue()).body("limits.maxActive", equalTo(1));
        deliver(Json.read(events.received().getLast().getPayload(), JobEvent.class));
        deliver(new JobEvent.Cancelled(first, 9L, "cancelled while queued"));
        given().contentType("application/json").body("{\"prompt\":\"x\"}").post("/v1/jobs").then().statusCode(202);
    }

    @Test
    void upscalerModelsAreShownByKindAndTheirJobsCheckedAtSubmit() throws Exception {
        String upscalers = Json.write(new WorkerStatus(WorkerStatus.SCHEMA_VERSION, "w3", List.of("toy", "esrgan",
                "x4"), 1, 0, "CPUExecutionProvider", WorkerStatus.IDLE, 1L, System.currentTimeMillis(), 60_000L,
                List.of(), List.of(), List.of("x4"), java.util.Map.of("esrgan", 4),
                java.util.Map.of("esrgan", List.of()), java.util.Map.of(), null, null, null, null));
        workers.onAnnouncement(new ConsumerRecord<>("easel.workers", 0, OFFSETS.incrementAndGet(), "w3", upscalers));
        try {
            given().get("/v1/models").then().statusCode(200)
                    .body("models.find { it.id == 'esrgan' }.kind", equalTo("image-upscaler"))
                    .body("models.find { it.id == 'esrgan' }.upscaleFactor", equalTo(4))
                    .body("models.find { it.id == 'x4' }.kind", equalTo("upscaler"))
                    .body("models.find { it.id == 'toy' }.kind", equalTo("generator"));
            // An image upscaler takes a picture and no prompt.
            submit("{\"model\":\"esrgan\",\"initImage\":\"" + png(16, 16) + "\"}");
            assertEquals("", Json.read(jobs.received().getLast().getPayload(), JobMessage.class).request().prompt());
            given().contentType("application/json").body("{\"model\":\"esrgan\"}").post("/v1/jobs").then()
                    .statusCode(400).body("errors[0].field", equalTo("initImage"));
            // 600 x 600 enlarged 4 times is 2400 x 2400, more than a picture may have.
            given().contentType("application/json").body("{\"model\":\"x4\",\"prompt\":\"x\",\"initImage\":\""
                    + png(600, 600) + "\"}").post("/v1/jobs").then().statusCode(400)
                    .contentType("application/problem+json").body("errors[0].field", equalTo("initImage"))
                    .body("errors[0].message", containsString("2400x2400"))
                    .body("limits.maxOutputPixels", equalTo(4194304));
            // w1 serves toy without the upscaler: the hires fix could land there, so the upscaler is refused.
            given().contentType("application/json").body("{\"model\":\"toy\",\"prompt\":\"x\",\"width\":64,"
                    + "\"height\":64,\"hires\":{\"upscaler\":\"esrgan\"}}").post("/v1/jobs").then().statusCode(400)
                    .body("errors[0].field", equalTo("hires.upscaler"))
                    .body("errors[0].message", containsString("latent, lanczos"));
            assertEquals(1, jobs.received().size(), "only the valid job was queued");
        } finally {
            workers.onAnnouncement(new ConsumerRecord<>("easel.workers", 0, OFFSETS.incrementAndGet(), "w3", null));
        }
    }

    @Test
    void aSchedulerTheModelDoesNotTakeIs400NamingTheOnesItDoes() {
        String sd3 = Json.write(new WorkerStatus(WorkerStatus.SCHEMA_VERSION, "w4", List.of("toy", "tiny-sd3"), 1, 0,
                "CPUExecutionProvider", WorkerStatus.IDLE, 1L, System.currentTimeMillis(), 60_000L, List.of(),
                List.of(), List.of(), java.util.Map.of(), java.util.Map.of("tiny-sd3", List.of("euler")),
                java.util.Map.of(), null, null, null, null));
        workers.onAnnouncement(new ConsumerRecord<>("easel.workers", 0, OFFSETS.incrementAndGet(), "w4", sd3));
        try {
            given().get("/v1/models").then().statusCode(200)
                    .body("models.find { it.id == 'tiny-sd3' }.schedulers", equalTo(List.of("euler")));
            given().contentType("application/json")
                    .body("{\"model\":\"tiny-sd3\",\"prompt\":\"x\",\"scheduler\":\"dpmpp_2m\"}").post("/v1/jobs")
                    .then().statusCode(400).contentType("application/problem+json")
                    .body("errors[0].field", equalTo("scheduler"))
                    .body("errors[0].message", equalTo("'dpmpp_2m' does not apply to model tiny-sd3; it takes euler"));
            submit("{\"model\":\"tiny-sd3\",\"prompt\":\"x\",\"scheduler\":\"euler\"}");
            assertEquals(1, jobs.received().size());
        } finally {
            workers.onAnnouncement(new ConsumerRecord<>("easel.workers", 0, OFFSETS.incrementAndGet(), "w4", null));
        }
    }

    private static String png(int width, int height) throws java.io.IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(width, height,
                java.awt.image.BufferedImage.TYPE_INT_RGB), "png", out);
        return java.util.Base64.getEncoder().encodeToString(out.toByteArray());
    }

    @Test
    void aJobOverTheCostCapIs400NamingTheLimit() {
        given().contentType("application/json")
                .body("{\"prompt\":\"x\",\"width\":2048,\"height\":2048,\"steps\":150}").post("/v1/jobs")
                .then().statusCode(400).contentType("application/problem+json")
                .body("errors[0].field", equalTo("cost")).body("limits.maxPixelSteps", equalTo(268435456));
        assertEquals(0, jobs.received().size());
    }

    @Test
    void aBodyOverTheSizeLimitIs413Problem() {
        String huge = "{\"prompt\":\"" + "x".repeat(25 * 1024 * 1024) + "\"}";
        given().contentType("application/json").body(huge).post("/v1/jobs").then().statusCode(413)
                .contentType("application/problem+json").body("limits.maxBodyBytes", notNullValue());
        assertEquals(0, jobs.received().size());
    }

    @Test
    void aRetryWithTheSameIdempotencyKeyGetsTheSameJobAndQueuesNothing() {
        String body = "{\"prompt\":\"once\",\"steps\":3}";
        String id = given().header("Idempotency-Key", "retry-1").contentType("application/json").body(body)
                .post("/v1/jobs").then().statusCode(202).extract().path("id");
        given().header("Idempotency-Key", "retry-1").contentType("application/json").body(body).post("/v1/jobs")
                .then().statusCode(200).body("id", equalTo(id)).header("Location", containsString(id));
        assertEquals(1, jobs.received().size(), "one job queued for two submits");
        given().header("Idempotency-Key", "retry-1").contentType("application/json")
                .body("{\"prompt\":\"something else\"}").post("/v1/jobs").then().statusCode(422)
                .contentType("application/problem+json").body("detail", containsString("different request"));
        given().header("Idempotency-Key", "retry-2").contentType("application/json").body(body).post("/v1/jobs")
                .then().statusCode(202).body("id", org.hamcrest.Matchers.not(equalTo(id)));
        given().header("Idempotency-Key", "has spaces").contentType("application/json").body(body).post("/v1/jobs")
                .then().statusCode(400).body("errors[0].field", equalTo("Idempotency-Key"));

        // Keys are per tenant: another tenant's same key is a new job of its own.
        RestAssured.requestSpecification = as(issueKey("t5", null, null));
        given().header("Idempotency-Key", "retry-1").contentType("application/json").body(body).post("/v1/jobs")
                .then().statusCode(202).body("id", org.hamcrest.Matchers.not(equalTo(id)));
        assertEquals(3, jobs.received().size());
    }

    @Test
    void webhooksGoOnlyToPublicAddressesAndTravelWithTheQueuedEvent() {
        for (String url : List.of("http://127.0.0.1:9/hook", "http://localhost/hook", "http://169.254.169.254/latest",
                "http://10.1.2.3/hook", "http://[::1]/hook", "http://100.64.0.1/", "ftp://example.org/hook",
                "http://user:pw@93.184.215.14/", "not a url")) {
            given().contentType("application/json")
                    .body("{\"prompt\":\"x\",\"webhook\":{\"url\":\"" + url + "\"}}").post("/v1/jobs").then()
                    .statusCode(400).contentType("application/problem+json").body("errors[0].field", equalTo("webhook.url"));
        }
        given().contentType("application/json")
                .body("{\"prompt\":\"x\",\"webhook\":{\"url\":\"https://93.184.215.14/h\",\"events\":[\"done\"]}}")
                .post("/v1/jobs").then().statusCode(400).body("errors[0].field", equalTo("webhook.events"));
        assertEquals(0, jobs.received().size(), "nothing queued for a refused webhook");

        submit("{\"prompt\":\"x\",\"webhook\":{\"url\":\"https://93.184.215.14/hook\",\"events\":[\"started\"]}}");
        JobEvent.Queued queued = (JobEvent.Queued) Json.read(events.received().get(0).getPayload(), JobEvent.class);
        assertEquals("https://93.184.215.14/hook", queued.webhook().url());
        assertEquals(List.of("started"), queued.webhook().eventsOrDefault());
        assertTrue(queued.keyId().startsWith("key_"), "the key that signs the deliveries: " + queued.keyId());
    }

    @Test
    void theSignatureIsTheHmacOfTimestampDotBody() {
        // Computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec_test
        assertEquals("t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91",
                WebhookSignature.header("whsec_test", 1700000000L, "{}"));
    }

    @Test
    void theJobsListIsTheTenantsOwnNewestFirstInPages() {
        RestAssured.requestSpecification = as(issueKey("t6", null, null));
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(submit("{\"prompt\":\"job " + i + "\"}"));
        }
        events.received().forEach(message -> deliver(Json.read(message.getPayload(), JobEvent.class)));
        deliver(new JobEvent.Cancelled(ids.get(1), 9L, "cancelled while queued"));
        List<String> newestFirst = List.of(ids.get(2), ids.get(1), ids.get(0));
        assertEquals(newestFirst, given().get("/v1/jobs").then().statusCode(200).extract().jsonPath()
                .getList("jobs.id"));
        Response first = given().queryParam("limit", 2).get("/v1/jobs");
        assertEquals(newestFirst.subList(0, 2), first.jsonPath().getList("jobs.id"));
        String cursor = first.jsonPath().getString("nextCursor");
        given().queryParam("limit", 2).queryParam("cursor", cursor).get("/v1/jobs").then().statusCode(200)
                .body("jobs.id", equalTo(List.of(ids.get(0)))).body("nextCursor", org.hamcrest.Matchers.nullValue());
        given().queryParam("status", "cancelled").get("/v1/jobs").then()
                .body("jobs.id", equalTo(List.of(ids.get(1)))).body("jobs[0].status", equalTo("cancelled"));
        given().queryParam("limit", 0).get("/v1/jobs").then().statusCode(400).body("errors[0].field", equalTo("limit"));
        given().queryParam("limit", "ten").get("/v1/jobs").then().statusCode(400)
                .body("errors[0].message", containsString("must be a whole number from 1 to 100"));
        given().queryParam("status", "lost").get("/v1/jobs").then().statusCode(400).body("errors[0].field",
                equalTo("status"));
        given().queryParam("cursor", "../x").get("/v1/jobs").then().statusCode(400).body("errors[0].field",
                equalTo("cursor"));

        RestAssured.requestSpecification = as(issueKey("t7", null, null));
        given().get("/v1/jobs").then().statusCode(200).body("jobs", org.hamcrest.Matchers.empty());
    }

    /** A sample's value in the Prometheus text, 0 when absent. */
    private static double sample(String metrics, String series) {
        return metrics.lines().filter(line -> line.startsWith(series + " ")).findFirst()
                .map(line -> Double.parseDouble(line.substring(series.length() + 1).strip())).orElse(0.0);
    }

    @Test
    void metricsCountSubmitsAndEndsAndTimeTheJobs() {
        String submitted = "easel_jobs_submitted_total{model=\"toy\"}";
        String ended = "easel_jobs_ended_total{model=\"toy\",status=\"completed\"}";
        String before = given().get("/q/metrics").then().statusCode(200).extract().asString();
        String id = submit("{\"prompt\":\"counted\",\"steps\":2}");
        deliver(Json.read(events.received().get(0).getPayload(), JobEvent.class));
        deliver(new JobEvent.Started(id, 2L, "w1", "CPUExecutionProvider", 2, 1, null));
        deliver(new JobEvent.Completed(id, 5L, List.of(new JobEvent.Image(0, "easel-images", "t1/" + id + "/0.png",
                null, 64, 64, 1L)), new JobEvent.Timings(10, 20, 30, 60)));
        String after = given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertEquals(sample(before, submitted) + 1, sample(after, submitted), after);
        assertEquals(sample(before, ended) + 1, sample(after, ended));
        assertTrue(sample(after, "easel_job_end_to_end_seconds_count{model=\"toy\"}") >= 1);
        assertTrue(after.contains("easel_queue_depth{model=\"toy\"}"), "the queue depth the autoscaler reads");
        assertTrue(after.contains("easel_workers_live"));
    }
}
