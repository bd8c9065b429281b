package dev.easel.gateway.api;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.easel.contracts.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.openapi.OASFactory;
import org.eclipse.microprofile.openapi.OASFilter;
import org.eclipse.microprofile.openapi.models.OpenAPI;
import org.eclipse.microprofile.openapi.models.Operation;
import org.eclipse.microprofile.openapi.models.media.Schema;
import org.eclipse.microprofile.openapi.models.responses.APIResponse;

/**
 * Completes the generated OpenAPI document: the job request's schema is the one {@code contracts} publishes (with its
 * limits, defaults and examples), so the two cannot disagree; the problem+json shape is a component; and each
 * operation lists the errors it can answer with.
 */
public class ApiDocument implements OASFilter {
    private static final String PROBLEM_REF = "#/components/schemas/Problem";
    private static final String VIEW_REF = "#/components/schemas/JobView";

    @Override
    public void filterOpenAPI(OpenAPI openAPI) {
        Map<String, Object> request = read("/schemas/job-request.schema.json");
        request.remove("$schema");
        request.remove("$id");
        openAPI.getComponents().addSchema("JobRequest", schema(request));
        openAPI.getComponents().addSchema("Problem", schema(parse("""
                {"type": "object", "description": "RFC 9457 problem details: every error of the API",
                 "required": ["type", "title", "status"],
                 "properties": {
                   "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string", "description": "what was wrong and what to do"},
                   "errors": {"type": "array", "description": "each offending field", "items": {"type": "object",
                     "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
                   "limits": {"type": "object", "description": "the limits the request ran into, by name"}}}""")));
        openAPI.getPaths().getPathItems().forEach((path, item) -> item.getOperations().forEach((method, operation) ->
                describe(path, method.name(), operation)));
    }

    private static void describe(String path, String method, Operation operation) {
        problem(operation, "401", "No API key, or an unknown or revoked one (with WWW-Authenticate)");
        String route = method + " " + path;
        switch (route) {
            case "POST /v1/jobs" -> {
                view(operation, "202", "Queued: the job, with its links (Location: its URL)");
                view(operation, "200", "A repeat of an earlier submit with the same Idempotency-Key: that job");
                problem(operation, "400", "An invalid field, a model no live worker serves, or the job's cost cap");
                problem(operation, "409", "A submit with this Idempotency-Key is still under way");
                problem(operation, "413", "The body is over the size limit");
                problem(operation, "415", "The body is not application/json");
                problem(operation, "422", "This Idempotency-Key was used for another body");
                problem(operation, "429", "Over the key's submit rate or active-job cap (with Retry-After)");
                problem(operation, "503", "The job queue did not acknowledge the job, or no worker is live");
            }
            case "GET /v1/jobs" -> problem(operation, "400", "An invalid status, limit or cursor");
            case "GET /v1/jobs/{id}", "GET /v1/jobs/{id}/events" ->
                    problem(operation, "404", "No such job for this tenant");
            case "DELETE /v1/jobs/{id}" -> {
                problem(operation, "404", "No such job for this tenant");
                problem(operation, "409", "The job already finished");
            }
            case "GET /v1/jobs/{id}/images/{index}" -> {
                operation.getResponses().addAPIResponse("302", OASFactory.createAPIResponse()
                        .description("Redirect to the image's presigned URL (expires; send no API key there)"));
                problem(operation, "404", "No such job for this tenant, or no such image");
                problem(operation, "409", "The job has not completed");
            }
            default -> { }
        }
    }

    private static void view(Operation operation, String status, String description) {
        operation.getResponses().addAPIResponse(status, OASFactory.createAPIResponse().description(description)
                .content(OASFactory.createContent().addMediaType("application/json", OASFactory.createMediaType()
                        .schema(OASFactory.createSchema().ref(VIEW_REF)))));
    }

    private static void problem(Operation operation, String status, String description) {
        APIResponse response = OASFactory.createAPIResponse().description(description)
                .content(OASFactory.createContent().addMediaType(Problem.MEDIA_TYPE, OASFactory.createMediaType()
                        .schema(OASFactory.createSchema().ref(PROBLEM_REF))));
        operation.getResponses().addAPIResponse(status, response);
    }

    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() { };

    private static Map<String, Object> parse(String json) {
        try {
            return Json.MAPPER.readValue(json, MAP);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Map<String, Object> read(String resource) {
        try (InputStream in = ApiDocument.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is not on the class path (it comes with easel-contracts)");
            }
            return Json.MAPPER.readValue(in, MAP);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A JSON Schema (as OpenAPI 3.1 takes it) as the model's Schema, nested schemas included. */
    @SuppressWarnings("unchecked")
    private static Schema schema(Map<String, Object> json) {
        Map<String, Object> converted = new LinkedHashMap<>();
        json.forEach((key, value) -> {
            if (key.equals("properties")) {
                Map<String, Object> properties = new LinkedHashMap<>();
                ((Map<String, Object>) value).forEach((name, property) ->
                        properties.put(name, schema((Map<String, Object>) property)));
                converted.put(key, properties);
            } else if (key.equals("items")) {
                converted.put(key, schema((Map<String, Object>) value));
            } else {
                converted.put(key, value instanceof List<?> list ? List.copyOf(list) : value);
            }
        });
        Schema schema = OASFactory.createSchema();
        schema.setAll(converted);
        return schema;
    }
}
