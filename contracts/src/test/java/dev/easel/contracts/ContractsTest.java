package dev.easel.contracts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.InputStream;
import java.lang.reflect.RecordComponent;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The JSON Schemas for non-Java clients describe exactly what the records write and read. */
class ContractsTest {
    private static final JsonSchemaFactory FACTORY = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012,
            builder -> builder.schemaMappers(m -> m.mapPrefix("https://easel.dev/schemas/", "classpath:schemas/")));

    private static JsonSchema schema(String name) {
        return FACTORY.getSchema(SchemaLocation.of("https://easel.dev/schemas/" + name));
    }

    private static Set<ValidationMessage> validate(String schema, Object value) {
        return schema(schema).validate(Json.MAPPER.valueToTree(value));
    }

    private static JsonNode schemaJson(String name) throws Exception {
        try (InputStream in = ContractsTest.class.getResourceAsStream("/schemas/" + name)) {
            return Json.MAPPER.readTree(in);
        }
    }

    static final JobRequest FULL_REQUEST = JobRequest.builder("a red circle").negativePrompt("blue").size(512, 768)
            .steps(30).guidanceScale(7.5).scheduler("dpmpp_2m").karras(true).timestepSpacing("trailing").seed(42L)
            .numImages(2).model("toy")
            .initImage("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")
            .strength(0.6).preview(true).previewEvery(2).build();

    static final List<JobEvent> EVENTS = List.of(
            new JobEvent.Queued("j1", 1L, 42L, 20, "toy", "acme"),
            new JobEvent.Started("j1", 2L, "worker-1", "CPUExecutionProvider", 20, 1, 3L),
            new JobEvent.Requeued("j1", 2L, 2, "worker-1 stopped announcing itself"),
            new JobEvent.Progress("j1", 3L, 0, 1, 20, 999.0, 14.6, 12L, 240L, "iVBORw0KGgo="),
            new JobEvent.Progress("j1", 3L, 0, 2, 20, 951.0, null, 20L, 200L, null),
            new JobEvent.Completed("j1", 4L, List.of(new JobEvent.Image(0, "easel", "j1/0.png", null, 512, 512, 42L)),
                    new JobEvent.Timings(5L, 100L, 7L, 120L)),
            new JobEvent.Failed("j1", 5L, "model_error", "unet missing", false, 1),
            new JobEvent.Cancelled("j1", 6L, "cancelled by the client"),
            new JobEvent.Loading("j1", 2L, "worker-1", "toy", 1500L, 1));

    static final WorkerStatus STATUS = new WorkerStatus(WorkerStatus.SCHEMA_VERSION, "worker-1", List.of("toy"), 2, 1,
            "CPUExecutionProvider", WorkerStatus.BUSY, 1L, 2L, 2000L, List.of("style"), List.of("easelcat"),
            List.of(), java.util.Map.of("esrgan", 4),
            java.util.Map.of("toy", List.of("euler", "ddim")), java.util.Map.of("toy", 2), 8192L, java.util.Map.of("toy", 2),
            java.util.Map.of("toy", 0), List.of(4L, 4L));

    @Test
    void modelIdsThatCannotNameATopicAreRefused() {
        assertEquals("easel.jobs.sd-1.5_fp16", Topics.jobs("sd-1.5_fp16"));
        for (String bad : new String[] {"a b", "", "x/y", "dlq", "ü"}) {
            assertFalse(Topics.isValidModelId(bad), bad);
        }
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Topics.jobs("a:b"));
    }

    @Test
    void messagesValidateAgainstTheirSchemas() {
        assertEquals(Set.of(), validate("job-request.schema.json", FULL_REQUEST));
        assertEquals(Set.of(), validate("job-request.schema.json", JobRequest.builder("only a prompt").build()));
        assertEquals(Set.of(), validate("job-message.schema.json", JobMessage.of("j1", "acme", 1L, FULL_REQUEST)));
        assertEquals(Set.of(), validate("control-message.schema.json", ControlMessage.cancel("j1", 3L)));
        assertEquals(Set.of(), validate("worker-status.schema.json", STATUS));
        for (JobEvent event : EVENTS) {
            assertEquals(Set.of(), validate("job-event.schema.json", event), event.type());
        }
    }

    @Test
    void schemasRejectWhatTheRecordsWouldNotAccept() {
        JobRequest badWidth = JobRequest.builder("x").size(100, null).build();
        assertFalse(validate("job-request.schema.json", badWidth).isEmpty());
        assertFalse(badWidth.validate().isEmpty());
        JsonNode missingStep = Json.MAPPER.valueToTree(EVENTS.get(3));
        ((com.fasterxml.jackson.databind.node.ObjectNode) missingStep).remove("step");
        assertFalse(schema("job-event.schema.json").validate(missingStep).isEmpty());
        JsonNode unknownType = Json.MAPPER.valueToTree(EVENTS.get(0));
        ((com.fasterxml.jackson.databind.node.ObjectNode) unknownType).put("type", "exploded");
        assertFalse(schema("job-event.schema.json").validate(unknownType).isEmpty());
    }

    @Test
    void promptsMustBeWellFormedTextAndWebhooksHttpUrls() {
        assertEquals(List.of(), request("a cat \uD83D\uDE00,\tline\r\nbreak", null).validate(), "emoji, tab, line breaks");
        assertEquals("prompt", request("a \uD800 b", null).validate().get(0).field(), "a lone surrogate");
        assertEquals("prompt", request("a \u0000 b", null).validate().get(0).field(), "NUL");
        assertEquals("prompt", request("\u001b[31m", null).validate().get(0).field(), "an escape sequence");
        assertEquals(List.of(), request("x", new JobRequest.Webhook("https://example.org/h", List.of("started")))
                .validate());
        assertEquals("webhook.url", request("x", new JobRequest.Webhook("file:///etc/passwd", null)).validate().get(0)
                .field());
        assertEquals("webhook.events", request("x", new JobRequest.Webhook("https://example.org/h",
                List.of("exploded"))).validate().get(0).field());
    }

    private static JobRequest request(String prompt, JobRequest.Webhook webhook) {
        return JobRequest.builder(prompt).webhook(webhook).build();
    }

    @Test
    void schemasNameEveryRecordField() throws Exception {
        assertEquals(componentNames(JobRequest.class), propertyNames(schemaJson("job-request.schema.json")));
        assertEquals(componentNames(JobMessage.class), propertyNames(schemaJson("job-message.schema.json")));
        assertEquals(componentNames(ControlMessage.class), propertyNames(schemaJson("control-message.schema.json")));
        assertEquals(componentNames(WorkerStatus.class), propertyNames(schemaJson("worker-status.schema.json")));
        JsonNode events = schemaJson("job-event.schema.json");
        Set<String> common = propertyNames(events);
        for (JsonNode branch : events.path("oneOf")) {
            String type = branch.path("properties").path("type").path("const").asText();
            Class<?> record = EVENTS.stream().filter(e -> e.type().equals(type)).findFirst().orElseThrow().getClass();
            Set<String> named = new HashSet<>(common);
            named.addAll(propertyNames(branch));
            Set<String> components = componentNames(record);
            components.add("type");
            assertEquals(components, named, "schema branch for " + type);
        }
    }

    @Test
    void eventsRoundTripThroughJson() {
        for (JobEvent event : EVENTS) {
            JobEvent back = Json.read(Json.write(event), JobEvent.class);
            assertEquals(event, back);
            assertTrue(Json.write(event).contains("\"type\":\"" + event.type() + "\""));
        }
        assertEquals(FULL_REQUEST, Json.read(Json.write(FULL_REQUEST), JobRequest.class));
        assertEquals(STATUS, Json.read(Json.write(STATUS), WorkerStatus.class));
        FinishedJob finished = FinishedJob.of(JobMessage.of("j1", "acme", 1L, FULL_REQUEST), (JobEvent.Started) EVENTS.get(1),
                EVENTS.get(5));
        assertEquals(finished, Json.read(Json.write(finished), FinishedJob.class));
    }

    @Test
    void requestValidationNamesTheFields() {
        JobRequest bad = JobRequest.builder(null).size(63, 4096).steps(0).guidanceScale(99.0).numImages(0)
                .initImage("%%%").strength(2.0).build();
        Set<String> fields = new HashSet<>();
        bad.validate().forEach(error -> fields.add(error.field()));
        assertEquals(Set.of("prompt", "width", "height", "steps", "guidanceScale", "numImages", "strength",
                "initImage"), fields);
        assertTrue(FULL_REQUEST.validate().isEmpty());
    }

    private static Set<String> componentNames(Class<?> record) {
        Set<String> names = new HashSet<>();
        for (RecordComponent component : record.getRecordComponents()) {
            names.add(component.getName());
        }
        return names;
    }

    private static Set<String> propertyNames(JsonNode schema) {
        Set<String> names = new HashSet<>();
        Iterator<String> fields = schema.path("properties").fieldNames();
        fields.forEachRemaining(names::add);
        return names;
    }
}
