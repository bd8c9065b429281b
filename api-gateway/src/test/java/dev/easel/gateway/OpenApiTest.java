package dev.easel.gateway;

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
    }
}
