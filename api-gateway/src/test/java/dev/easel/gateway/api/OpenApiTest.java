package dev.easel.gateway.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contracts.Json;
import io.quarkus.test.junit.QuarkusTest;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

@QuarkusTest
class OpenApiTest {
    @Test
    void theDocumentListsEveryRouteOfTheApi() throws Exception {
        JsonNode document = Json.MAPPER.readTree(given().queryParam("format", "json").when().get("/q/openapi")
                .then().statusCode(200).extract().asString());
        assertTrue(document.path("openapi").asText().startsWith("3."), "OpenAPI 3");
        Set<String> routes = new TreeSet<>();
        document.path("paths").properties().forEach(path -> path.getValue().properties()
                .forEach(method -> routes.add(method.getKey().toUpperCase() + " " + path.getKey())));
        List<String> expected = new ArrayList<>(List.of("POST /v1/jobs", "GET /v1/jobs", "GET /v1/jobs/{id}", "DELETE /v1/jobs/{id}",
                "GET /v1/jobs/{id}/events", "GET /v1/jobs/{id}/images/{index}", "GET /v1/models", "GET /v1/workers"));
        assertEquals(new TreeSet<>(expected), routes);
        assertTrue(document.path("components").path("schemas").has("JobRequest"), "the request schema is described");
        assertEquals("bearer", document.path("components").path("securitySchemes").path("apiKey").path("scheme")
                .asText(), "the API key is described");
        document.path("paths").properties().forEach(path -> path.getValue().properties().forEach(method ->
                assertEquals("apiKey", method.getValue().path("security").path(0).properties().iterator().next()
                        .getKey(), method.getKey() + " " + path.getKey() + " needs the key")));
        given().when().get("/q/swagger-ui/").then().statusCode(200);

        // The job request as the API describes it is the JSON Schema easel-contracts publishes, limits and all.
        JsonNode published = Json.MAPPER.readTree(OpenApiTest.class.getResourceAsStream(
                "/schemas/job-request.schema.json"));
        JsonNode described = document.path("components").path("schemas").path("JobRequest");
        assertEquals(published.path("properties"), described.path("properties"));
        assertEquals(published.path("required"), described.path("required"));
        assertEquals(2048, described.path("properties").path("width").path("maximum").asInt(), "limits are there");
        assertTrue(described.path("examples").size() >= 1, "with examples");

        // Every operation answers 401 as problem+json; the submit lists its limits' answers.
        assertTrue(document.path("components").path("schemas").path("Problem").path("properties").has("limits"));
        document.path("paths").properties().forEach(path -> path.getValue().properties().forEach(method ->
                assertEquals("#/components/schemas/Problem", method.getValue().path("responses").path("401")
                        .path("content").path("application/problem+json").path("schema").path("$ref").asText(),
                        method.getKey() + " " + path.getKey())));
        JsonNode submit = document.path("paths").path("/v1/jobs").path("post").path("responses");
        for (String status : List.of("202", "200", "400", "409", "413", "415", "422", "429", "503")) {
            assertTrue(submit.has(status), "POST /v1/jobs answers " + status);
        }
    }
}
