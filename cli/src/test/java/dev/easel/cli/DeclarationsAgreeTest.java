package dev.easel.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.Json;
import dev.easel.contracts.RequestLimits;
import dev.easel.engine.scheduler.Schedulers;
import java.io.InputStream;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Each concept is declared once per tier, and the tiers agree: the request's fields (the contract's record, its JSON
 * Schema, the CLI's flags, the web page) and the schedulers (the engine's table, the contract's lists, the schema, the
 * web page, the docs). docs/contributing.md says what to change when one of these tests fails.
 */
class DeclarationsAgreeTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path WEB = ROOT.resolve("api-gateway/src/main/resources/META-INF/resources");

    @Test
    void everyRequestFieldIsInTheSchemaAndHasAFlagOrASaidReason() throws Exception {
        Set<String> fields = recordFields();
        Set<String> properties = new TreeSet<>();
        schema().path("properties").fieldNames().forEachRemaining(properties::add);
        assertEquals(fields, properties, "contracts' job-request.schema.json names exactly the record's fields");
        Set<String> covered = new TreeSet<>(RequestOptions.FLAGS_BY_FIELD.keySet());
        covered.addAll(RequestOptions.SERVICE_ONLY_FIELDS);
        assertEquals(fields, covered, "RequestOptions gives every field a flag or lists it as service-only");
        for (String flag : new HashSet<>(RequestOptions.FLAGS_BY_FIELD.values())) {
            assertTrue(Main.USAGE.contains("--" + flag), "easel help describes --" + flag);
        }
    }

    @Test
    void theSchemaAndTheWebPageShowTheContractsDefaultsAndLimits() throws Exception {
        JsonNode properties = schema().path("properties");
        assertEquals(JobRequest.DEFAULT_STEPS, properties.path("steps").path("default").asInt());
        assertEquals(JobRequest.DEFAULT_GUIDANCE, properties.path("guidanceScale").path("default").asDouble());
        assertEquals(JobRequest.DEFAULT_STRENGTH, properties.path("strength").path("default").asDouble());
        assertEquals(JobRequest.DEFAULT_NUM_IMAGES, properties.path("numImages").path("default").asInt());
        assertEquals(JobRequest.DEFAULT_NOISE, properties.path("noise").path("default").asText());
        assertEquals(JobRequest.DEFAULT_PROMPT_SYNTAX, properties.path("promptSyntax").path("default").asText());
        assertEquals(RequestLimits.MAX_STEPS, properties.path("steps").path("maximum").asInt());
        assertEquals(RequestLimits.MAX_IMAGES, properties.path("numImages").path("maximum").asInt());

        String page = Files.readString(WEB.resolve("index.html"));
        assertEquals(List.of(String.valueOf(JobRequest.DEFAULT_STEPS), "1", String.valueOf(RequestLimits.MAX_STEPS)),
                input(page, "steps"), "steps: default, min, max");
        assertEquals(List.of(String.valueOf(JobRequest.DEFAULT_GUIDANCE), "0",
                String.valueOf((int) RequestLimits.MAX_GUIDANCE)), input(page, "guidance"), "guidance");
        assertEquals(List.of(String.valueOf(JobRequest.DEFAULT_NUM_IMAGES), "1",
                String.valueOf(RequestLimits.MAX_IMAGES)), input(page, "images"), "images");
        assertEquals(String.valueOf(JobRequest.DEFAULT_STRENGTH), input(page, "strength").get(0), "strength");
    }

    @Test
    void theWebPageSendsOnlyRequestFields() throws Exception {
        String script = Files.readString(WEB.resolve("easel.js"));
        Matcher literal = Pattern.compile("const request = \\{([^}]*)}").matcher(script);
        assertTrue(literal.find(), "easel.js builds its request in readForm()");
        Set<String> sent = new TreeSet<>();
        Matcher key = Pattern.compile("(\\w+):").matcher(literal.group(1));
        while (key.find()) {
            sent.add(key.group(1));
        }
        Matcher assigned = Pattern.compile("request\\.(\\w+) = ").matcher(script);
        while (assigned.find()) {
            sent.add(assigned.group(1));
        }
        Set<String> unknown = new TreeSet<>(sent);
        unknown.removeAll(recordFields());
        assertEquals(Set.of(), unknown, "fields the web page sends that JobRequest does not have");
        assertTrue(sent.containsAll(List.of("prompt", "steps", "scheduler", "initImage", "mask")), sent.toString());
    }

    @Test
    void schedulersAreTheEnginesTableEverywhere() throws Exception {
        List<String> names = Schedulers.NAMES;
        assertEquals(names, RequestLimits.SCHEDULERS, "contracts' RequestLimits.SCHEDULERS");
        assertEquals(Schedulers.KARRAS_CAPABLE, RequestLimits.KARRAS_SCHEDULERS, "contracts' KARRAS_SCHEDULERS");
        List<String> schemaEnum = new ArrayList<>();
        schema().path("properties").path("scheduler").path("enum").forEach(n -> schemaEnum.add(n.asText()));
        assertEquals(names, schemaEnum, "the schema's scheduler enum");

        String page = Files.readString(WEB.resolve("index.html"));
        Matcher select = Pattern.compile("<select id=\"scheduler\">(.*?)</select>", Pattern.DOTALL).matcher(page);
        assertTrue(select.find(), "the web page has a scheduler picker");
        Set<String> offered = new TreeSet<>();
        Matcher option = Pattern.compile("<option>(\\w+)</option>").matcher(select.group(1));
        while (option.find()) {
            offered.add(option.group(1));
        }
        assertEquals(new TreeSet<>(names), offered, "the web page's scheduler options");

        String docs = Files.readString(ROOT.resolve("docs/engine.md"));
        for (Schedulers.Entry entry : Schedulers.ALL) {
            String row = "| `" + entry.name() + "` | " + entry.a1111Name() + " | `" + entry.diffusersClass() + "` | "
                    + (entry.karras() ? "yes" : "no") + " |";
            assertTrue(docs.contains(row), "docs/engine.md's scheduler table has the row " + row);
        }
    }

    private static Set<String> recordFields() {
        Set<String> fields = new TreeSet<>();
        for (RecordComponent component : JobRequest.class.getRecordComponents()) {
            fields.add(component.getName());
        }
        return fields;
    }

    private static JsonNode schema() throws Exception {
        try (InputStream in = JobRequest.class.getResourceAsStream("/schemas/job-request.schema.json")) {
            return Json.MAPPER.readTree(in);
        }
    }

    /** An input's value, min and max attributes (those it has), in that order. */
    private static List<String> input(String page, String id) {
        Matcher tag = Pattern.compile("<input id=\"" + id + "\"[^>]*>").matcher(page);
        assertTrue(tag.find(), "the web page has the input " + id);
        List<String> values = new ArrayList<>();
        for (String attribute : Arrays.asList("value", "min", "max")) {
            Matcher value = Pattern.compile(" " + attribute + "=\"([^\"]*)\"").matcher(tag.group());
            if (value.find()) {
                values.add(value.group(1));
            }
        }
        return values;
    }
}
