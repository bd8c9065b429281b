package dev.easel.deploy;

import static dev.easel.deploy.GatewayClient.names;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.Json;
import dev.easel.contracts.Topics;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import dev.easel.engine.scheduler.Scheduler;
import dev.easel.engine.scheduler.Schedulers;
import dev.easel.models.ModelGenerator;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The service end to end on real components: a Kafka broker (KRaft), s3proxy, a worker process running the toy model
 * on ONNX Runtime, and gateway processes, all started the way {@code ./easel up} starts them.
 */
class ServiceEndToEndTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NORMAL).build();
    private static final Duration START = Duration.ofSeconds(180);
    /** Every step reported (the default), and a job lock far shorter than the slow job below. */
    private static final Map<String, String> WORKER_ENVIRONMENT = Map.of("EASEL_LOCK_MS", "5000");

    private static LocalStack stack;
    private static Path modelDir;
    private static String kafka;
    private static String s3;
    private static String gateway;
    private static ServiceProcess firstGateway;
    private static final TestProcesses PROCESSES = new TestProcesses();
    private static final List<String> JOBS = new ArrayList<>();

    @BeforeAll
    static void startStack() throws Exception {
        Path root = Path.of(System.getProperty("easel.root", "../.."));
        Path home = TestProcesses.fresh(Path.of("target/e2e-home"));
        stack = new LocalStack(root, home);
        modelDir = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.TOY), home.resolve("models/toy"));
        int kafkaPort = LocalStack.freePort();
        int s3Port = LocalStack.freePort();
        kafka = "127.0.0.1:" + kafkaPort;
        s3 = "http://127.0.0.1:" + s3Port;
        start(stack.kafka(kafkaPort, LocalStack.freePort()));
        start(stack.s3(s3Port));
        start(stack.worker(new LocalStack.WorkerSettings("e2e-worker", kafka, s3, List.of(modelDir), LocalStack.freePort(),
                WORKER_ENVIRONMENT)));
        firstGateway = start(stack.gateway("e2e-gateway", LocalStack.freePort(), kafka, s3));
        gateway = firstGateway.address();
    }

    private static ServiceProcess start(ServiceProcess service) throws Exception {
        return PROCESSES.start(service);
    }

    @AfterAll
    static void stopStack() throws Exception {
        PROCESSES.stopAll();
    }

    private static JobRequest request(String prompt, int size, int steps, String scheduler, long seed) {
        return new JobRequest(prompt, "", size, size, steps, 7.5, scheduler, false, null, seed, 1, null, null, null,
                false, null);
    }

    private static String submit(String server, JobRequest request) throws Exception {
        String id = new GatewayClient(server).submit(request);
        JOBS.add(id);
        return id;
    }

    private static HttpResponse<String> post(String server, String body) throws Exception {
        return new GatewayClient(server).post(body);
    }

    private static JsonNode get(String server, String path) throws Exception {
        return new GatewayClient(server).get(path);
    }

    /** Reads SSE events until the stream ends or {@code limit} events arrived; fails after two minutes. */
    private static List<GatewayClient.Event> events(String server, String id, String lastEventId, int limit) throws Exception {
        return new GatewayClient(server).events(id, lastEventId, limit, Duration.ofSeconds(120));
    }

    @Test
    void progressEveryStepAndTheSameImageAsTheOfflineEngine() throws Exception {
        JobRequest request = request("a red circle on the left on a blue background", 64, 12, "euler", 5L);
        String id = submit(gateway, request);
        List<GatewayClient.Event> events = events(gateway, id, null, 100);
        List<String> expected = new ArrayList<>(List.of("queued", "started"));
        for (int i = 0; i < 12; i++) {
            expected.add("progress");
        }
        expected.add("completed");
        assertEquals(expected, names(events));

        try (ModelFolder model = ModelFolder.load(modelDir, new OrtRuntime(RuntimeOptions.defaults()))) {
            Scheduler scheduler = Schedulers.create("euler", model.schedulerConfig(), false, null);
            scheduler.setTimesteps(12);
            for (int i = 0; i < 12; i++) {
                JsonNode progress = events.get(2 + i).data();
                assertEquals(i + 1, progress.path("step").asInt());
                assertEquals(scheduler.timesteps()[i], progress.path("timestep").asDouble(), "timestep of step " + (i + 1));
                assertEquals(scheduler.sigmas()[i], progress.path("sigma").asDouble(), 1e-6);
            }
            byte[] offline = new StableDiffusionPipeline(model).generate(GenerationRequest.from(request), s -> { },
                    () -> false).images().get(0).png();
            byte[] served = HTTP.send(HttpRequest.newBuilder(URI.create(gateway + "/v1/jobs/" + id + "/images/0"))
                    .GET().build(), HttpResponse.BodyHandlers.ofByteArray()).body();
            assertArrayEquals(offline, served, "the stored PNG equals the offline engine's for the same request");
        }
        JsonNode status = get(gateway, "/v1/jobs/" + id);
        assertEquals("completed", status.path("status").asText());
        assertTrue(status.path("workerId").asText().startsWith("e2e-worker"), status.toString());
        assertTrue(status.path("images").get(0).path("url").asText().startsWith(s3 + "/"));
    }

    @Test
    void lastEventIdReplaysExactlyWhatWasMissed() throws Exception {
        JobRequest withPreviews = new JobRequest("green square", "", 64, 64, 8, 7.5, "ddim", false, null, 3L, 1, null,
                null, null, true, 4);
        String id = submit(gateway, withPreviews);
        List<GatewayClient.Event> firstThree = events(gateway, id, null, 3);
        assertEquals(3, firstThree.size());
        List<GatewayClient.Event> rest = events(gateway, id, firstThree.get(2).id(), 100);
        List<GatewayClient.Event> all = events(gateway, id, null, 100);
        List<String> joined = new ArrayList<>();
        firstThree.forEach(e -> joined.add(e.id()));
        rest.forEach(e -> joined.add(e.id()));
        assertEquals(all.stream().map(GatewayClient.Event::id).toList(), joined);
        assertEquals("completed", all.get(all.size() - 1).name());
        List<GatewayClient.Event> progress = all.stream().filter(e -> e.name().equals("progress")).toList();
        assertEquals(List.of(false, false, false, true, false, false, false, true),
                progress.stream().map(e -> e.data().has("preview")).toList(), "a preview every 4 steps");
    }

    @Test
    void cancellingAQueuedAndARunningJob() throws Exception {
        String running = submit(gateway, request("yellow stripes", 2048, 150, "euler", 1L));
        List<GatewayClient.Event> beginning = events(gateway, running, null, 3);
        assertEquals(List.of("queued", "started", "progress"), names(beginning));
        String queued = submit(gateway, request("pink circle", 64, 5, "euler", 2L));
        assertEquals("queued", get(gateway, "/v1/jobs/" + queued).path("status").asText());

        assertEquals(202, delete(queued));
        assertEquals(List.of("queued", "cancelled"), names(events(gateway, queued, null, 10)));
        assertEquals(202, delete(running));
        List<GatewayClient.Event> runningEvents = events(gateway, running, null, 1000);
        assertEquals("cancelled", runningEvents.get(runningEvents.size() - 1).name());
        assertFalse(names(runningEvents).contains("completed"));
        assertTrue(runningEvents.size() < 150, "stopped before the end: " + runningEvents.size() + " events");

        // The worker reaches the cancelled job after the running one stopped: it reports it cancelled again (the
        // gateway ignores that) and never starts it. Checked on the raw events topic, where nothing is filtered.
        String after = submit(gateway, request("white", 64, 2, "euler", 4L));
        assertEquals("completed", names(events(gateway, after, null, 100)).getLast());
        List<String> raw = rawEventTypes(queued);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (raw.stream().filter("cancelled"::equals).count() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(200);
            raw = rawEventTypes(queued);
        }
        assertEquals(List.of("queued", "cancelled", "cancelled"), raw, "the worker saw the job and did not start it");
        assertEquals(409, delete(after), "a finished job cannot be cancelled");
    }

    private static int delete(String id) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(gateway + "/v1/jobs/" + id)).DELETE().build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void aJobLongerThanItsLockIsRenewedAndDeliveredOnce() throws Exception {
        // The worker's job lock is 5 s; this job runs for several times that, so it lives on renewals.
        JobRequest slow = new JobRequest("a red circle", "", 2048, 2048, 150, 7.5, "euler", false, null, 9L, 4, null,
                null, null, false, null);
        String id = submit(gateway, slow);
        List<GatewayClient.Event> events = events(gateway, id, null, 1000);
        JsonNode completed = events.getLast().data();
        assertEquals("completed", events.getLast().name());
        assertTrue(completed.path("timings").path("engineMillis").asLong() > 5000,
                "the job must outlast its lock: " + completed.path("timings"));
        assertEquals(1, names(events).stream().filter("started"::equals).count(), "started once");
        assertEquals(1, names(events).stream().filter("completed"::equals).count(), "completed once");
        String next = submit(gateway, request("blue", 64, 2, "euler", 1L));
        assertEquals("completed", names(events(gateway, next, null, 100)).getLast(), "the worker is still consuming");
    }

    /** Every event on the events topic for one job but progress, in topic order. */
    private static List<String> rawEvents(String jobId) {
        return eventsSince(Map.of()).stream().filter(r -> jobId.equals(r.key()) && !r.value().contains("\"progress\""))
                .map(org.apache.kafka.clients.consumer.ConsumerRecord::value).toList();
    }

    /** The types of every event on the events topic for one job, in topic order. */
    private static List<String> rawEventTypes(String jobId) {
        List<String> types = new ArrayList<>();
        for (org.apache.kafka.clients.consumer.ConsumerRecord<String, String> record : eventsSince(Map.of())) {
            if (jobId.equals(record.key())) {
                types.add(Json.read(record.value(), dev.easel.contracts.JobEvent.class).type());
            }
        }
        return types;
    }

    /** The events topic's records after the given per-partition offsets (all of them for missing partitions). */
    private static List<org.apache.kafka.clients.consumer.ConsumerRecord<String, String>> eventsSince(
            Map<Integer, Long> offsets) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
        List<org.apache.kafka.clients.consumer.ConsumerRecord<String, String>> records = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.EVENTS, Duration.ofSeconds(10)).stream()
                    .map(p -> new TopicPartition(Topics.EVENTS, p.partition())).toList();
            consumer.assign(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            for (TopicPartition partition : partitions) {
                consumer.seek(partition, offsets.getOrDefault(partition.partition(), 0L));
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p)) && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        return records;
    }

    @Test
    void aSecondWorkerSharesTheQueueAndNoJobRunsTwice() throws Exception {
        // A worker joining the share group while jobs are queued and running: both take jobs, none runs twice.
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(submit(gateway, request("orange square", 512, 60, "euler", 20L + i)));
        }
        ServiceProcess second = start(stack.worker(new LocalStack.WorkerSettings("e2e-worker-2", kafka, s3, List.of(modelDir),
                LocalStack.freePort(), WORKER_ENVIRONMENT)));
        try {
            for (int i = 0; i < 10; i++) {
                ids.add(submit(gateway, request("orange square", 512, 60, "euler", 30L + i)));
            }
            java.util.Set<String> workers = new java.util.HashSet<>();
            for (String id : ids) {
                assertEquals("completed", names(events(gateway, id, null, 1000)).getLast(), "job " + id);
                workers.add(get(gateway, "/v1/jobs/" + id).path("workerId").asText());
            }
            assertEquals(java.util.Set.of("e2e-worker", "e2e-worker-2"), workers, "both workers took jobs");
            for (String id : ids) {
                assertEquals(1, rawEventTypes(id).stream().filter("started"::equals).count(),
                        "job " + id + " started once: " + rawEvents(id));
            }
        } finally {
            second.stop(Duration.ofSeconds(60));
        }
        String after = submit(gateway, request("orange", 64, 2, "euler", 1L));
        assertEquals("completed", names(events(gateway, after, null, 100)).getLast(), "the first worker carries on alone");
    }

    @Test
    void everyInvalidFieldIsAProblemAndPublishesNothing() throws Exception {
        Map<String, Long> before = endOffsets();
        Map<Integer, Long> eventsBefore = eventEndOffsets();
        Map<String, String> invalid = Map.of(
                "width", "{\"prompt\":\"x\",\"width\":100}",
                "height", "{\"prompt\":\"x\",\"height\":4096}",
                "steps", "{\"prompt\":\"x\",\"steps\":0}",
                "guidanceScale", "{\"prompt\":\"x\",\"guidanceScale\":-1}",
                "numImages", "{\"prompt\":\"x\",\"numImages\":99}",
                "scheduler", "{\"prompt\":\"x\",\"scheduler\":\"turbo\"}",
                "karras", "{\"prompt\":\"x\",\"scheduler\":\"ddim\",\"karras\":true}",
                "strength", "{\"prompt\":\"x\",\"initImage\":\"iVBORw0KGgo=\",\"strength\":0}",
                "prompt", "{\"negativePrompt\":\"x\"}",
                "timestepSpacing", "{\"prompt\":\"x\",\"timestepSpacing\":\"sideways\"}");
        // The requests a first hostile try got accepted with 202 (issue 7): wrong types, strength alone, a non-image.
        String text = java.util.Base64.getEncoder().encodeToString("not a picture".getBytes());
        Map<String, String> hostile = Map.of(
                "prompt", "{\"prompt\":12}",
                "steps", "{\"prompt\":\"x\",\"steps\":10.5}",
                "strength", "{\"prompt\":\"x\",\"strength\":0.5}",
                "initImage", "{\"prompt\":\"x\",\"initImage\":\"" + text + "\",\"strength\":0.5}",
                "model", "{\"prompt\":\"x\",\"model\":\"../../etc/passwd\"}",
                "seeds", "{\"prompt\":\"x\",\"seeds\":[1]}");
        Map<String, String> all = new java.util.HashMap<>(invalid);
        hostile.forEach((field, body) -> all.put(field + " (hostile)", body));
        for (Map.Entry<String, String> entry : all.entrySet()) {
            HttpResponse<String> response = post(gateway, entry.getValue());
            assertEquals(400, response.statusCode(), entry.getKey());
            assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("application/problem+json"));
            JsonNode problem = Json.MAPPER.readTree(response.body());
            assertEquals(entry.getKey().replace(" (hostile)", ""), problem.path("errors").get(0).path("field").asText(),
                    response.body());
        }
        assertEquals(before.get(Topics.jobs("toy")), endOffsets().get(Topics.jobs("toy")), "no job was published");
        // Workers may still report on earlier jobs meanwhile; no event may belong to a job this test did not see.
        for (var record : eventsSince(eventsBefore)) {
            assertTrue(JOBS.contains(record.key()), "an event for an unknown job: " + record.value());
        }
    }

    private static Map<Integer, Long> eventEndOffsets() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.EVENTS, Duration.ofSeconds(10)).stream()
                    .map(p -> new TopicPartition(Topics.EVENTS, p.partition())).toList();
            Map<Integer, Long> ends = new java.util.HashMap<>();
            consumer.endOffsets(partitions).forEach((p, offset) -> ends.put(p.partition(), offset));
            return ends;
        }
    }

    private static Map<String, Long> endOffsets() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            Map<String, Long> totals = new java.util.TreeMap<>();
            for (String topic : List.of(Topics.jobs("toy"), Topics.EVENTS)) {
                List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                        .map(p -> new TopicPartition(topic, p.partition())).toList();
                totals.put(topic, consumer.endOffsets(partitions).values().stream().mapToLong(Long::longValue).sum());
            }
            return totals;
        }
    }

    @Test
    void stateIsTheSameOnASecondGatewayAndAfterARestart() throws Exception {
        String done = submit(gateway, request("black square on a white background", 64, 4, "unipc", 8L));
        events(gateway, done, null, 100);
        List<String> jobs = List.copyOf(JOBS);
        Map<String, String> before = new java.util.HashMap<>();
        for (String id : jobs) {
            before.put(id, comparable(get(gateway, "/v1/jobs/" + id)));
        }
        ServiceProcess second = start(stack.gateway("e2e-gateway-2", LocalStack.freePort(), kafka, s3));
        for (String id : jobs) {
            assertEquals(before.get(id), comparable(get(second.address(), "/v1/jobs/" + id)), "job " + id + " on gateway 2");
        }
        ServiceProcess first = firstGateway;
        first.stop(Duration.ofSeconds(20));
        first.start(START);
        for (String id : jobs) {
            assertEquals(before.get(id), comparable(get(gateway, "/v1/jobs/" + id)), "job " + id + " after a restart");
        }
        assertEquals(names(events(second.address(), done, null, 100)), names(events(gateway, done, null, 100)));

        // A gateway that keeps no finished job in memory answers from the job's final record in the bucket.
        ServiceProcess forgetful = start(stack.gateway("e2e-gateway-forgetful", LocalStack.freePort(), kafka, s3,
                Map.of("easel.jobs.finished-max", "0")));
        assertEquals(before.get(done), comparable(get(forgetful.address(), "/v1/jobs/" + done)),
                "a finished job read back from {jobId}/job.json");
        assertEquals(List.of("queued", "started", "completed"), names(events(forgetful.address(), done, null, 100)));
        assertEquals(404, HTTP.send(HttpRequest.newBuilder(URI.create(forgetful.address() + "/v1/jobs/no-such-job"))
                .GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode());
    }

    @Test
    void aRestartedGatewayRestoresLiveJobsAndResumesTheirStreamsFromTheirPartition() throws Exception {
        // 12 images of 150 steps: some 20 s here, so the job outlives the gateway's restart.
        JobRequest slow = new JobRequest("a slow green circle", "", 2048, 2048, 150, 7.5, "euler", false, null, 12L, 12,
                null, null, null, false, null);
        String id = submit(gateway, slow);
        List<GatewayClient.Event> beforeRestart = events(gateway, id, null, 5);
        assertEquals(List.of("queued", "started", "progress", "progress", "progress"), names(beforeRestart));
        firstGateway.stop(Duration.ofSeconds(20));
        firstGateway.start(START);
        String log = java.nio.file.Files.readString(firstGateway.logFile());
        assertTrue(log.contains("reading easel.events from {"), "resumed from the job-state checkpoint, not offset 0: "
                + log.lines().filter(l -> l.contains("restored")).toList());
        assertEquals("running", get(gateway, "/v1/jobs/" + id).path("status").asText(), "restored while it runs");

        // The progress the restarted gateway never saw comes from the job's partition of the events topic.
        List<GatewayClient.Event> resumed = events(gateway, id, beforeRestart.getLast().id(), 5000);
        List<GatewayClient.Event> joined = new ArrayList<>(beforeRestart);
        joined.addAll(resumed);
        List<String> steps = joined.stream().filter(e -> e.name().equals("progress"))
                .map(e -> e.data().path("imageIndex").asInt() + "/" + e.data().path("step").asInt()).toList();
        List<String> expected = new ArrayList<>();
        for (int image = 0; image < 12; image++) {
            for (int step = 1; step <= 150; step++) {
                expected.add(image + "/" + step);
            }
        }
        assertEquals(expected, steps, "every step of every image exactly once");
        assertEquals("completed", joined.getLast().name());
        assertEquals(joined.stream().map(GatewayClient.Event::id).distinct().count(), joined.size(), "no event twice");

        List<GatewayClient.Event> all = events(gateway, id, null, 5000);
        assertEquals(joined.stream().map(GatewayClient.Event::id).toList(),
                all.stream().map(GatewayClient.Event::id).toList(), "the whole stream again, from the job's first event");
    }

    /** A job's status without what legitimately differs between answers (presigned URL signatures, queue time). */
    private static String comparable(JsonNode status) throws IOException {
        com.fasterxml.jackson.databind.node.ObjectNode copy = status.deepCopy();
        copy.remove("queuePosition");
        if (copy.has("images")) {
            for (JsonNode image : copy.path("images")) {
                ((com.fasterxml.jackson.databind.node.ObjectNode) image).remove("url");
            }
        }
        return Json.MAPPER.writeValueAsString(copy);
    }
}
